"""The generated inventory against real SSH hosts: the Ansible tests' stand-in hosts (systemd
containers) play the AWS instances, one of them the bastion. Ansible must reach every host through
the bastion, as it would in the VPC, where only the bastion accepts SSH from outside.
Then the whole handoff through the real CLI: `deploy inventory`, `deploy provision` (site.yml
through the bastion) and `deploy smoke`, on both topologies Terraform can build:
  ec2      PostgreSQL and Redis on own hosts, configured by the same roles;
  managed  RDS and ElastiCache (the default), played by one stand-in host that refuses plain
           connections as they do; the database password comes from Secrets Manager (moto's).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from tests.support import aws, tutorial
from tests.support.ansible import (
    Runner,
    ansible_env,
    ensure_ansible_venv,
    extra_ca_certificates,
    recap,
)
from tests.support.apt import ensure_debian_packages
from tests.support.fake_terraform import FakeTerraform
from tests.support.hosts import boot_hosts, ensure_host_image, readyz_from_the_host
from tests.support.need import need
from tests.support.timing import phase, record_phase
from tests.support.web import create_link, follow

NAMES = ["bastion", "lb", "app1", "app2", "db", "cache"]
MANAGED_NAMES = ["bastion", "lb", "app1", "app2", "managed"]
HERE = Path(__file__).resolve().parent


def _outputs(address, user: str, **data: dict) -> dict:
    """Terraform outputs (terraform/outputs.tf's shape) for the stand-in hosts: the EC2
    topology (hosts db and cache), or the `database` / `cache` outputs given in `data`."""
    ec2 = {
        "db_hosts": {"db": address("db")} if "database" not in data else {},
        "cache_hosts": {"cache": address("cache")} if "cache" not in data else {},
    }
    if "database" not in data:
        data["database"] = {"mode": "ec2", "host": address("db"), "port": 5432, "name": "flaskmt"}
    if "cache" not in data:
        data["cache"] = {"mode": "ec2", "host": address("cache"), "port": 6379, "tls": False}
    return {
        "public_url": f"https://{address('lb')}",
        "tls": {"mode": "self_signed", "domain": "", "acme_email": ""},
        "ssh_user": user,
        "bastion_public_ip": address("bastion"),
        "lb_hosts": {"lb": {"public_ip": address("lb"), "private_ip": address("lb")}},
        "app_hosts": {"app1": address("app1"), "app2": address("app2")},
        **ec2,
        **data,
    }


def test_ansible_reaches_every_host_through_the_bastion(
    run_deploy, fake_terraform, tmp_path: Path
) -> None:
    need(os.geteuid() == 0, "booting stand-in hosts needs root (rootful podman)")
    ensure_debian_packages("podman", "openssh-client")

    ensure_host_image()
    bin_dir = ensure_ansible_venv()
    with boot_hosts(NAMES, prefix="fmt-dep") as hosts:
        fake_terraform.outputs(_outputs(hosts.address, hosts.user))
        result = run_deploy(
            "--terraform-bin", str(fake_terraform.path),
            "--ssh-key", str(hosts.key_path),
            "--known-hosts", str(tmp_path / "known_hosts"),
            "inventory",
            env=fake_terraform.env,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        inventory = tmp_path / "inventory.yml"
        groups = yaml.safe_load(inventory.read_text())["all"]["children"]
        assert "bastion" not in {h for g in groups.values() for h in g["hosts"]}

        # Each host reports where its SSH client came from: it must be the bastion.
        ping = subprocess.run(
            [str(bin_dir / "ansible"), "all", "-i", str(inventory), "-o",
             "-m", "ansible.builtin.command", "-a", "printenv SSH_CONNECTION"],
            env=ansible_env(bin_dir),
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )  # fmt: skip
        assert ping.returncode == 0, ping.stdout[-3000:] + ping.stderr[-3000:]
        clients = {}
        for line in ping.stdout.splitlines():
            host, _, rest = line.partition(" | ")
            clients[host] = rest.split("(stdout)")[-1].split()[0]
        assert clients == {name: hosts.address("bastion") for name in NAMES if name != "bastion"}
        assert len((tmp_path / "known_hosts").read_text().splitlines()) >= len(NAMES)


@dataclass
class DeployFlow:
    """`deploy inventory`, `deploy provision`, `deploy smoke` as an operator runs them, with the
    stand-in hosts playing the instances Terraform would have created."""

    run_deploy: Callable[..., subprocess.CompletedProcess]
    fake_terraform: FakeTerraform
    workdir: Path
    bin_dir: Path  # the Ansible venv's bin/

    def __post_init__(self) -> None:
        # Secrets as in production: the tutorial's step 7 makes the encrypted vault next to the
        # AWS inventory, in a copy of the checkout (the reader's $EDITOR fills in the values).
        copy = tutorial.reader_checkout(self.workdir / "repo", venv=False)
        (step,) = tutorial.claim("7", "stand-in-hosts")
        editor = tutorial.reader_editor(self.workdir)
        env = ansible_env(self.bin_dir, EDITOR=str(editor))
        made = tutorial.run(step.code, cwd=copy, env=env, log=self.workdir / "vault-step.log")
        tutorial.assert_as_promised(step, step.code, made)
        self.inventory = copy / "ansible" / "inventories" / "aws" / "hosts.yml"
        self.password_file = copy / "ansible" / ".vault-password"
        assert self.password_file.stat().st_mode & 0o077 == 0  # only its owner may read it
        vault_file = self.inventory.parent / "group_vars" / "all" / "vault.yml"
        assert vault_file.read_text().startswith("$ANSIBLE_VAULT;")
        opened = subprocess.run(
            [str(self.bin_dir / "ansible-vault"), "view", "--vault-password-file",
             str(self.password_file), str(vault_file)],
            env=ansible_env(self.bin_dir), capture_output=True, text=True, check=True,
        )  # fmt: skip
        vault = yaml.safe_load(opened.stdout)
        assert not [v for v in vault.values() if "change-me" in str(v)], vault
        self.redis_password = vault["vault_redis_password"]

    @property
    def ca_file(self) -> str:
        """The project CA the nginx role made on the controller (self_signed, no domain)."""
        return str(self.workdir / "ca" / "ca.pem")

    def _env(self, extra: Mapping[str, str]) -> dict[str, str]:
        # Ansible from its pinned venv, without colours; host keys are checked as the inventory
        # says (accept-new into the environment's known_hosts), not turned off as elsewhere.
        env = {
            name: value
            for name, value in ansible_env(self.bin_dir).items()
            if name.startswith("ANSIBLE_") and name != "ANSIBLE_HOST_KEY_CHECKING"
        }
        env["ANSIBLE_PLAYBOOK"] = str(self.bin_dir / "ansible-playbook")
        return {**env, **self.fake_terraform.env, **extra}

    def _vars_file(self, trusted_certificates: Sequence[str]) -> Path:
        # What only this machine needs: its proxy's CA for pip on the hosts, a private archive
        # cache; plus certificates the hosts must trust.
        path = self.workdir / "test-vars.yml"
        path.write_text(yaml.safe_dump({
            "common_ca_certificates": [*extra_ca_certificates(), *trusted_certificates],
            "app_archive_cache_dir": str(self.workdir / "releases"),
            "nginx_tls_ca_dir": str(self.workdir / "ca"),
        }))  # fmt: skip
        return path

    def provision_and_smoke(
        self,
        hosts,
        outputs: dict,
        trusted_certificates: Sequence[str] = (),
        env: Mapping[str, str] | None = None,
    ) -> None:
        """The three steps, then a link created and followed through nginx, served by every
        app host."""
        label = f"deploy ({outputs['database']['mode']})"
        self.fake_terraform.outputs(outputs)  # before _env: the outputs travel in it
        full_env = self._env(env or {})
        options = (
            "--terraform-bin", str(self.fake_terraform.path),
            "--inventory", str(self.inventory),
            "--ssh-key", str(hosts.key_path),
            "--known-hosts", str(self.workdir / "known_hosts"),
        )  # fmt: skip
        written = self.run_deploy(*options, "inventory", env=full_env)
        assert written.returncode == 0, written.stderr

        with phase(f"{label}: provision via the bastion"):
            provision = self.run_deploy(
                *options, "provision", "--",
                "--vault-password-file", str(self.password_file),
                "-e", f"@{self._vars_file(trusted_certificates)}",
                env=full_env,
                timeout=2400,
            )  # fmt: skip
        output = provision.stdout + provision.stderr
        assert provision.returncode == 0, output[-6000:]
        counters = recap(provision.stdout)
        provisioned = {*outputs["lb_hosts"], *outputs["app_hosts"]}
        provisioned |= {*outputs["db_hosts"], *outputs["cache_hosts"]}
        assert set(counters) == provisioned, output[-3000:]
        assert all(c["failed"] == c["unreachable"] == 0 for c in counters.values()), counters

        base_url = outputs["public_url"]
        with phase(f"{label}: smoke"):
            smoke = self.run_deploy(*options, "smoke", "--url", base_url,
                                    "--ca-file", self.ca_file, env=full_env)  # fmt: skip
        assert smoke.returncode == 0, smoke.stdout + smoke.stderr
        # The edge answers /readyz to monitoring addresses only (the smoke test, from outside,
        # waited on /healthz): read it as the lb's own monitoring does. Ready means PostgreSQL
        # answers; "ok" (not "degraded") with the Redis backend means the app reaches Redis too.
        lb_name = base_url.split("//", 1)[1].split("/", 1)[0].split(":")[0]
        status, ready = readyz_from_the_host(hosts, "lb", lb_name)
        assert status == 200, ready
        assert ready["status"] == "ok", ready
        assert ready["checks"]["cache"]["backend"] == "redis", ready

        code, target = create_link(base_url, verify=self.ca_file)
        answers = [follow(base_url, code, verify=self.ca_file) for _ in range(12)]
        assert {r.status_code for r in answers} == {302}
        assert {r.headers["Location"] for r in answers} == {target}
        assert {r.headers["X-Served-By"] for r in answers} == set(outputs["app_hosts"])


@pytest.fixture
def deploy_flow(run_deploy, fake_terraform, tmp_path: Path) -> DeployFlow:
    need(os.geteuid() == 0, "booting stand-in hosts needs root (rootful podman)")
    need(shutil.which("git") is not None, "git is needed to build the release archive")
    ensure_debian_packages("podman", "openssh-client", "openssl")
    ensure_host_image()
    return DeployFlow(run_deploy, fake_terraform, tmp_path, ensure_ansible_venv())


@pytest.mark.timeout(2700)  # a full site.yml run with package installs, on shared cores
def test_deploy_provisions_and_smoke_tests_the_ec2_topology(deploy_flow: DeployFlow) -> None:
    start = time.monotonic()
    with boot_hosts(NAMES, prefix="fmt-dprov") as hosts:
        record_phase("deploy (ec2): boot 6 stand-in hosts", time.monotonic() - start)
        deploy_flow.provision_and_smoke(hosts, _outputs(hosts.address, hosts.user))


def _self_signed_certificate(directory: Path, address: str) -> tuple[Path, Path]:
    """A certificate for `address` (IP SAN) and its key: the managed services' TLS identity."""
    cert, key = directory / "managed-services.crt", directory / "managed-services.key"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-subj", f"/CN={address}", "-addext", f"subjectAltName=IP:{address}",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


def _rds_secret(bin_dir: Path, endpoint: str, username: str, password: str) -> str:
    """The secret RDS would create for manage_master_user_password, in moto; returns its ARN."""
    script = (
        "import boto3, json, sys\n"
        "client = boto3.client('secretsmanager', endpoint_url=sys.argv[1])\n"
        "secret = {'username': sys.argv[2], 'password': sys.stdin.read()}\n"
        "answer = client.create_secret(Name='rds!db-standin', SecretString=json.dumps(secret))\n"
        "print(answer['ARN'])\n"
    )
    result = subprocess.run(
        [str(bin_dir / "python"), "-c", script, endpoint, username],
        input=password,
        env=aws.terraform_env(),
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout.strip()


@pytest.mark.timeout(2700)
def test_deploy_provisions_and_smoke_tests_the_managed_topology(
    deploy_flow: DeployFlow, tmp_path: Path
) -> None:
    """RDS and ElastiCache, as `deploy up` builds them by default: no db or cache host, TLS to
    both, the database password read from Secrets Manager (not the vault), the AUTH token from
    the vault."""
    tools = deploy_flow.bin_dir
    db_password = secrets.token_hex(16)  # differs from the vault's: only the secret can work
    start = time.monotonic()
    with aws.moto_server() as endpoint, boot_hosts(MANAGED_NAMES, prefix="fmt-dman") as hosts:
        record_phase("deploy (managed): boot 5 hosts", time.monotonic() - start)
        managed = hosts.address("managed")
        cert, key = _self_signed_certificate(tmp_path, managed)
        secret_arn = _rds_secret(tools, endpoint, "flaskmt", db_password)

        standin_vars = {
            "standin_db_name": "flaskmt", "standin_db_user": "flaskmt",
            "standin_db_password": db_password,
            "standin_redis_token": deploy_flow.redis_password,
            "standin_tls_cert": str(cert), "standin_tls_key": str(key),
        }  # fmt: skip
        (tmp_path / "managed.yml").write_text(hosts.inventory({"managed": ["managed"]}))
        prepared = Runner(tools, tmp_path / "managed.yml", tmp_path).run(
            str(HERE / "managed_services.yml"), "-e", json.dumps(standin_vars),
            label="deploy (managed): stand-in services",
        )  # fmt: skip
        assert prepared.returncode == 0, prepared.tail()

        outputs = _outputs(
            hosts.address, hosts.user,
            database={"mode": "managed", "host": managed, "port": 5432, "name": "flaskmt",
                      "username": "flaskmt", "secret_arn": secret_arn},
            cache={"mode": "managed", "host": managed, "port": 6379, "tls": True},
        )  # fmt: skip
        deploy_flow.provision_and_smoke(
            hosts,
            outputs,
            # The app hosts trust the stand-in's certificate as they trust Amazon's CA.
            trusted_certificates=[str(cert)],
            env={"AWS_ENDPOINT_URL": endpoint},
        )
        # The password stayed in Secrets Manager: the inventory only names the secret.
        assert db_password not in deploy_flow.inventory.read_text()
        # Every connection of the app's user is encrypted.
        query = (
            "SELECT count(*), bool_and(ssl) FROM pg_stat_ssl JOIN pg_stat_activity USING (pid)"
            " WHERE usename = 'flaskmt'"
        )
        sessions = hosts.ssh("managed", f'sudo -u postgres psql -tAc "{query}"')
        count, all_ssl = sessions.stdout.strip().split("|")
        assert int(count) > 0 and all_ssl == "t", sessions.stdout + sessions.stderr
