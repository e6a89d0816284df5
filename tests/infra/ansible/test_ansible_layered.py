"""site.yml and deploy.yml on five fresh hosts, one per layer (the layered Vagrant/AWS shape).

Secrets come from an ansible-vault file, as in production; the rolling deploy runs under a
polling client that must see no failed request.
"""

from __future__ import annotations

import secrets
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from tests.support.ansible import PlaybookRun, Runner, extra_ca_certificates, write_vault
from tests.support.hosts import Hosts, boot_hosts
from tests.support.paths import REPO
from tests.support.timing import record_phase
from tests.support.web import Poller, create_link, follow, static_file

NAMES = ["lb", "app1", "app2", "db", "cache"]
GROUPS = {"lb": ["lb"], "app": ["app1", "app2"], "db": ["db"], "cache": ["cache"]}
# what a release is made of (app role defaults) plus the nginx policy the lb copies
SOURCE_PATHS = ("app", "migrations", "alembic.ini", "gunicorn.conf.py", "requirements.txt", "nginx")

# setup of the module fixture counts into the first test (slow on 2 shared cores)
pytestmark = pytest.mark.timeout(2700)


@dataclass
class Layered:
    hosts: Hosts
    runner: Runner
    first: PlaybookRun
    redis_password: str
    # the tree the hosts currently run (the rolling deploy test ships another one)
    source: Path

    @property
    def base_url(self) -> str:
        return f"http://{self.hosts.address('lb')}"

    def source_vars(self) -> tuple[str, ...]:
        return ("-e", f"app_source_dir={self.source}", "-e", f"flaskmt_source_dir={self.source}")


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
    with boot_hosts(NAMES, prefix="fmt-lay") as hosts:
        inventory_dir = workdir / "inventory"
        inventory_dir.mkdir()
        password_file, redis_password = write_vault(inventory_dir, ansible_bin)
        variables = {
            "common_ca_certificates": extra_ca_certificates(),
            "app_archive_cache_dir": str(workdir / "releases"),
        }
        (inventory_dir / "hosts.yml").write_text(hosts.inventory(GROUPS, variables))
        runner = Runner(
            ansible_bin,
            inventory_dir,
            workdir,
            extra_args=("--vault-password-file", str(password_file)),
        )
        state = Layered(hosts, runner, None, redis_password, REPO)  # type: ignore[arg-type]
        state.first = runner.run(
            "site.yml", *state.source_vars(), label="layered: site.yml on 5 fresh hosts"
        )
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
    code, target = create_link(layered.base_url)

    answers = [follow(layered.base_url, code) for _ in range(12)]

    assert {r.status_code for r in answers} == {302}
    assert {r.headers["Location"] for r in answers} == {target}
    assert {r.headers["X-Served-By"] for r in answers} == {"app1", "app2"}


def test_the_load_balancer_serves_static_files_itself(layered: Layered) -> None:
    response = requests.get(f"{layered.base_url}/{static_file()}", timeout=30)
    assert response.status_code == 200
    assert "X-Served-By" not in response.headers


def test_database_and_cache_refuse_clients_that_are_not_app_servers(layered: Layered) -> None:
    db = layered.hosts.address("db")
    psql = subprocess.run(
        ["psql", f"postgresql://flaskmt:wrong@{db}:5432/flaskmt", "-c", "select 1"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert psql.returncode != 0
    assert "no pg_hba.conf entry" in psql.stderr
    cache = layered.hosts.address("cache")
    redis = ["redis-cli", "-h", cache, "--no-auth-warning"]
    anonymous = subprocess.run([*redis, "ping"], capture_output=True, text=True, timeout=30)
    assert "NOAUTH" in anonymous.stdout + anonymous.stderr
    with_password = subprocess.run(
        [*redis, "-a", layered.redis_password, "ping"], capture_output=True, text=True, timeout=30
    )
    assert with_password.stdout.strip() == "PONG"


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
    code, target = create_link(layered.base_url)
    before = _main_pids(layered.hosts)

    with Poller(layered.hosts.address("lb"), 80, code, target) as poller:
        deploy = layered.runner.run(
            "deploy.yml",
            "-e",
            f"app_source_dir={source}",
            "-e",
            f"flaskmt_source_dir={source}",
            label="layered: rolling deploy.yml",
        )
    layered.source = source

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
    marker_via_lb = requests.get(f"{layered.base_url}/static/release-marker.txt", timeout=30)
    assert marker_via_lb.text == marker
