"""site.yml and release.yml on five fresh hosts, one per layer (the layered Vagrant/AWS shape);
then `python -m deploy` onto the same hosts as it runs after `terraform apply` on AWS: through a
bastion, with the EC2 topology and then with RDS and ElastiCache played by a stand-in host.

The first provisioning and the rolling deploy are the tutorial's step 4 commands as written
(`make ansible-provision` / `make ansible-release`), with these hosts' inventory in place of the
layered VMs'. Secrets come from an ansible-vault file, as in production; the rolling deploy runs
under a polling client that must see no failed request. The deploy steps reuse the provisioned
hosts (their claim is the hand-off through the bastion, not a fresh install: the first test here
proves that).
"""

from __future__ import annotations

import base64
import re
import secrets
import shutil
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from tests.support import aws, tutorial
from tests.support.ansible import (
    PlaybookRun,
    Runner,
    ansible_env,
    extra_ca_certificates,
    write_vault,
)
from tests.support.deploy_flow import DeployFlow, stand_in_outputs
from tests.support.fake_terraform import FakeTerraform
from tests.support.hosts import Hosts, boot_hosts
from tests.support.paths import REPO
from tests.support.timing import record_phase
from tests.support.web import Poller, create_link, follow, static_file

NAMES = ["lb", "app1", "app2", "db", "cache"]
# booted too, for the deploy steps: the only way in, and the stand-in for RDS and ElastiCache
DEPLOY_ONLY = ["bastion", "managed"]
GROUPS = {"lb": ["lb"], "app": ["app1", "app2"], "db": ["db"], "cache": ["cache"]}
# what a release is made of (app role defaults) plus the nginx policy the lb copies
SOURCE_PATHS = ("app", "alembic.ini", "gunicorn.conf.py", "requirements.txt", "nginx")

# The tutorial's `make ansible-provision ...` and `make ansible-release ...` lines, in that order.
((PROVISION, DEPLOY),) = [tutorial.lines(b.code) for b in tutorial.claim("4", "stand-in-hosts")]

# setup of the module fixture counts into the first test (slow on 2 shared cores)
pytestmark = pytest.mark.timeout(3600)


@dataclass
class Layered:
    hosts: Hosts
    runner: Runner
    first: PlaybookRun
    vault: dict[str, str]
    # the tree the hosts currently run (the rolling deploy test ships another one)
    source: Path
    # the project CA that self_signed made on the controller
    ca_file: str
    workdir: Path
    password_file: Path
    # the deploy CLI's flow, made by the first deploy test
    deploy: DeployFlow | None = None

    @property
    def base_url(self) -> str:
        return f"https://{self.hosts.address('lb')}"

    def source_vars(self) -> tuple[str, ...]:
        return ("-e", f"app_source_dir={self.source}", "-e", f"flaskmt_source_dir={self.source}")

    def make(self, line: str, label: str) -> PlaybookRun:
        """One of the tutorial's make lines against these hosts: the vault's password and the
        test's variables come from the environment, as a reader would set them."""
        env = ansible_env(
            self.runner.bin_dir,
            ANSIBLE_LOCAL_TEMP=str(self.runner.workdir / "tmp"),
            ANSIBLE_VAULT_PASSWORD_FILE=str(self.password_file),
            ANSIBLE_ARGS=" ".join(self.source_vars()),
        )
        code = tutorial.adapt(line, "stand-in-hosts", inventory=self.runner.inventory)
        log = self.runner.workdir / (re.sub(r"[^A-Za-z0-9]+", "-", label).strip("-") + ".log")
        result = tutorial.run(code, cwd=REPO, env=env, log=log, timeout=2400)
        record_phase(label, result.seconds)
        return PlaybookRun(result.returncode, result.output, result.seconds, log)


def copy_source(destination: Path) -> Path:
    """A copy of the parts of the checkout a deploy ships (no git: the archive falls back)."""
    for name in SOURCE_PATHS:
        source = REPO / name
        if source.is_dir():
            ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
            shutil.copytree(source, destination / name, ignore=ignore)
        else:
            destination.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, destination / name)
    return destination


@pytest.fixture(scope="module")
def layered(engine_ready: None, ansible_bin: Path, workdir: Path) -> Iterator[Layered]:
    with boot_hosts(NAMES + DEPLOY_ONLY, prefix="fmt-lay") as hosts:
        inventory_dir = workdir / "inventory"
        inventory_dir.mkdir()
        password_file, vault = write_vault(inventory_dir, ansible_bin)
        variables = {
            "common_ca_certificates": extra_ca_certificates(),
            "app_archive_cache_dir": str(workdir / "releases"),
            "nginx_tls_ca_dir": str(workdir / "ca"),
        }
        (inventory_dir / "hosts.yml").write_text(hosts.inventory(GROUPS, variables))
        runner = Runner(
            ansible_bin,
            inventory_dir,
            workdir,
            extra_args=("--vault-password-file", str(password_file)),
        )
        ca_file = str(workdir / "ca" / "ca.pem")
        # `first` is set right below: the fixture's own state, filled as the run goes
        state = Layered(hosts, runner, None, vault, REPO, ca_file, workdir, password_file)  # type: ignore[arg-type]
        state.first = state.make(PROVISION, "layered: make ansible-provision on 5 fresh hosts")
        assert state.first.returncode == 0, state.first.tail()
        yield state


def test_first_run_provisions_every_host(layered: Layered) -> None:
    counters = layered.first.recap
    assert set(counters) == set(NAMES)
    for name in NAMES:
        assert counters[name]["failed"] == 0, name
        assert counters[name]["unreachable"] == 0, name
        assert counters[name]["changed"] > 0, name


def test_nginx_balances_a_followed_link_over_both_app_servers(layered: Layered) -> None:
    code, target = create_link(layered.base_url, verify=layered.ca_file)

    answers = [follow(layered.base_url, code, verify=layered.ca_file) for _ in range(12)]

    assert {r.status_code for r in answers} == {302}
    assert {r.headers["Location"] for r in answers} == {target}
    assert {r.headers["X-Served-By"] for r in answers} == {"app1", "app2"}


def test_the_load_balancer_serves_static_files_itself(layered: Layered) -> None:
    response = requests.get(
        f"{layered.base_url}/{static_file()}", timeout=30, verify=layered.ca_file
    )
    assert response.status_code == 200
    assert "X-Served-By" not in response.headers


def _connects(hosts: Hosts, source: str, target: str, port: int) -> bool:
    """Whether `source` opens a TCP connection to `target`:`port` (the firewall's verdict)."""
    probe = f"timeout 5 bash -c '</dev/tcp/{hosts.address(target)}/{port}' 2>/dev/null"
    return hosts.ssh(source, probe).returncode == 0


@pytest.mark.parametrize(
    ("target", "port", "allowed", "refused"),
    [
        ("db", 5432, ["app1", "app2"], ["lb", "cache"]),
        ("cache", 6379, ["app1", "app2"], ["lb", "db"]),
        ("app1", 8000, ["lb"], ["app2", "db", "cache"]),
        ("lb", 443, ["app1", "db", "cache"], []),
    ],
)
def test_each_tier_port_is_open_to_its_peers_only(
    layered: Layered, target: str, port: int, allowed: list[str], refused: list[str]
) -> None:
    sources = allowed + refused
    verdicts = {source: _connects(layered.hosts, source, target, port) for source in sources}
    assert verdicts == {**dict.fromkeys(allowed, True), **dict.fromkeys(refused, False)}


def test_the_controller_reaches_only_ssh_and_the_load_balancer(layered: Layered) -> None:
    db = layered.hosts.address("db")
    psql = subprocess.run(
        ["psql", f"postgresql://flaskmt:wrong@{db}:5432/flaskmt", "-c", "select 1"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert psql.returncode != 0
    assert "refused" in psql.stderr  # the firewall, before pg_hba.conf is even asked
    cache = layered.hosts.address("cache")
    redis = subprocess.run(
        ["redis-cli", "-h", cache, "ping"], capture_output=True, text=True, timeout=30
    )
    assert "refused" in (redis.stdout + redis.stderr).lower()


def test_ssh_refuses_passwords_and_root(layered: Layered) -> None:
    for name in NAMES:
        config = layered.hosts.ssh(name, "sudo sshd -T")
        settings = dict(line.split(" ", 1) for line in config.stdout.splitlines() if " " in line)
        assert settings["passwordauthentication"] == "no", name
        assert settings["kbdinteractiveauthentication"] == "no", name
        assert settings["permitrootlogin"] == "no", name
    # a client that offers only a password is turned away before any password is asked
    attempt = subprocess.run(
        ["ssh", "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
         "-o", "PreferredAuthentications=password,keyboard-interactive",
         "-o", "PubkeyAuthentication=no", "-o", "BatchMode=yes", "-o", "ConnectTimeout=10",
         f"vagrant@{layered.hosts.address('lb')}", "true"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert attempt.returncode == 255
    assert "Permission denied (publickey)" in attempt.stderr


def _redis_as(layered: Layered, user: str, password: str, *command: str) -> str:
    """A command sent to Redis from app1 (a peer the firewall lets in) with the app's redis-py."""
    script = (
        "import redis\n"
        f"c = redis.Redis(host={layered.hosts.address('cache')!r}, username={user!r}, "
        f"password={password!r})\n"
        "try:\n"
        f"    print(c.execute_command(*{list(command)!r}))\n"
        "except redis.exceptions.RedisError as e:\n"
        "    print(type(e).__name__, e)\n"
    )
    encoded = base64.b64encode(script.encode()).decode()
    result = layered.hosts.ssh(
        "app1", f"echo {encoded} | base64 -d | /srv/flask-multitier/venv/bin/python -"
    )
    return result.stdout.strip() + result.stderr.strip()


def test_the_app_redis_user_may_not_administer_redis(layered: Layered) -> None:
    app_password = layered.vault["vault_redis_app_password"]
    assert _redis_as(layered, "flaskmt", app_password, "PING") == "True"
    refused = _redis_as(layered, "flaskmt", app_password, "CONFIG", "GET", "maxmemory")
    assert refused.startswith("NoPermissionError"), refused
    assert _redis_as(layered, "flaskmt", "wrong", "PING").startswith("AuthenticationError")
    admin = _redis_as(layered, "default", layered.vault["vault_redis_password"], "CONFIG", "GET",
                      "maxmemory")  # fmt: skip
    assert "maxmemory" in admin


def test_a_second_run_changes_nothing(layered: Layered) -> None:
    again = layered.runner.run(
        "site.yml", *layered.source_vars(), label="layered: second site.yml run"
    )
    assert again.returncode == 0, again.tail()
    changed = {host: c["changed"] for host, c in again.recap.items()}
    assert changed == dict.fromkeys(NAMES, 0), again.tail(200)


def _main_pids(hosts: Hosts) -> dict[str, str]:
    return {
        name: hosts.ssh(name, "systemctl show -p MainPID --value flask-multitier").stdout.strip()
        for name in GROUPS["app"]
    }


def test_a_rolling_deploy_loses_no_request(layered: Layered, workdir: Path) -> None:
    # a new release: the same code plus a marker file, so every app host must restart
    marker = secrets.token_hex(8)
    source = copy_source(workdir / f"release-{marker}")
    (source / "app" / "static" / "release-marker.txt").write_text(marker)
    code, target = create_link(layered.base_url, verify=layered.ca_file)
    before = _main_pids(layered.hosts)

    layered.source = source
    with Poller(layered.hosts.address("lb"), 443, code, target, ca_file=layered.ca_file) as poller:
        deploy = layered.make(DEPLOY, "layered: make ansible-release (rolling)")

    assert deploy.returncode == 0, deploy.tail()
    record_phase(f"rolling deploy: {poller.requests} polled requests, served by "
                  f"{poller.served_by}", deploy.seconds)  # fmt: skip
    assert poller.requests >= 20
    assert poller.failures == []
    after = _main_pids(layered.hosts)
    for name in GROUPS["app"]:
        assert after[name] != before[name], f"{name} was not restarted"
        release = layered.hosts.ssh(
            name, "cat /srv/flask-multitier/current/app/static/release-marker.txt"
        )
        assert release.stdout.strip() == marker
    marker_via_lb = requests.get(
        f"{layered.base_url}/static/release-marker.txt", timeout=30, verify=layered.ca_file
    )
    assert marker_via_lb.text == marker


def _deploy_flow(
    layered: Layered, run_deploy: Callable, fake_terraform: FakeTerraform
) -> DeployFlow:
    """The deploy CLI with this module's workdir (its project CA and release cache) and a vault
    made as the tutorial makes it, holding the secrets these hosts already have; made once."""
    if layered.deploy is None:
        layered.deploy = DeployFlow(
            run_deploy,
            fake_terraform,
            layered.workdir,
            layered.runner.bin_dir,
            known_secrets=layered.vault,
        )
    return layered.deploy


def test_deploy_provisions_through_the_bastion_and_smoke_tests(
    layered: Layered, run_deploy: Callable, fake_terraform: FakeTerraform
) -> None:
    flow = _deploy_flow(layered, run_deploy, fake_terraform)
    flow.provision_and_smoke(
        layered.hosts, stand_in_outputs(layered.hosts.address, layered.hosts.user)
    )


def test_deploy_moves_the_app_onto_managed_database_and_cache(
    layered: Layered, run_deploy: Callable, fake_terraform: FakeTerraform
) -> None:
    """RDS and ElastiCache, as `deploy up` builds them by default: TLS to both, the database
    password read from Secrets Manager (not the vault), the AUTH token from the vault."""
    flow = _deploy_flow(layered, run_deploy, fake_terraform)
    with aws.moto_server() as endpoint:
        db_password = flow.managed_topology(layered.hosts, endpoint)
    # The password stayed in Secrets Manager: the inventory only names the secret.
    assert db_password not in flow.inventory.read_text()
    # Every connection of the app's user is encrypted.
    query = (
        "SELECT count(*), bool_and(ssl) FROM pg_stat_ssl JOIN pg_stat_activity USING (pid)"
        " WHERE usename = 'flaskmt'"
    )
    sessions = layered.hosts.ssh("managed", f'sudo -u postgres psql -tAc "{query}"')
    count, all_ssl = sessions.stdout.strip().split("|")
    assert int(count) > 0 and all_ssl == "t", sessions.stdout + sessions.stderr
