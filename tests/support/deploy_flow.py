"""`deploy inventory`, `deploy provision` and `deploy smoke` against stand-in hosts, as an
operator runs them after `terraform apply`: the hosts play the instances, a fake terraform
answers `output -json` with their addresses, one host (the bastion) is the only way in.

Both topologies Terraform can build:
  ec2      PostgreSQL and Redis on own hosts, configured by the same roles;
  managed  RDS and ElastiCache, played by one stand-in host ("managed", set up by
           hosts/managed_services.yml) that refuses plain connections as they do; the database
           password comes from Secrets Manager (moto's).
"""

from __future__ import annotations

import json
import secrets
import subprocess
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from tests.support import aws, tutorial
from tests.support.ansible import Runner, ansible_env, extra_ca_certificates, recap
from tests.support.fake_terraform import FakeTerraform
from tests.support.hosts import Hosts, readyz_from_the_host
from tests.support.timing import phase
from tests.support.web import create_link, follow

MANAGED_SERVICES_PLAYBOOK = Path(__file__).resolve().parent / "hosts" / "managed_services.yml"


def stand_in_outputs(address: Callable[[str], str], user: str, **data: dict) -> dict:
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


@dataclass
class DeployFlow:
    """The three deploy steps with the stand-in hosts playing what Terraform would have made.

    `workdir` holds the project CA and the release cache: a caller that provisioned the same
    hosts before passes its workdir, so the deploy finds the CA the hosts already have. The
    secrets are made as the tutorial's step 7 makes them (its block, run as written in a copy
    of the checkout): an encrypted vault beside the AWS inventory, whose values the reader types
    in; `known_secrets` are the ones the hosts already have."""

    run_deploy: Callable[..., subprocess.CompletedProcess]
    fake_terraform: FakeTerraform
    workdir: Path
    bin_dir: Path  # the Ansible venv's bin/
    known_secrets: Mapping[str, str] = field(default_factory=dict)
    inventory: Path = field(init=False)
    password_file: Path = field(init=False)
    vault: dict[str, str] = field(init=False)

    def __post_init__(self) -> None:
        copy = tutorial.reader_checkout(self.workdir / "repo", venv=False)
        (step,) = tutorial.claim("7", "stand-in-hosts")
        editor = tutorial.reader_editor(self.workdir, self.known_secrets)
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
        self.vault = yaml.safe_load(opened.stdout)
        assert not [v for v in self.vault.values() if "change-me" in str(v)], self.vault

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
        path = self.workdir / "deploy-vars.yml"
        path.write_text(yaml.safe_dump({
            "common_ca_certificates": [*extra_ca_certificates(), *trusted_certificates],
            "app_archive_cache_dir": str(self.workdir / "releases"),
            "nginx_tls_ca_dir": str(self.workdir / "ca"),
        }))  # fmt: skip
        return path

    def provision_and_smoke(
        self,
        hosts: Hosts,
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

    def managed_topology(self, hosts: Hosts, endpoint: str) -> str:
        """RDS and ElastiCache as `deploy up` builds them by default, played by the host
        "managed"; deploys onto them and returns the database password (kept in Secrets
        Manager only)."""
        db_password = secrets.token_hex(16)  # differs from the vault's: only the secret can work
        managed = hosts.address("managed")
        cert, key = _self_signed_certificate(self.workdir, managed)
        secret_arn = _rds_secret(self.bin_dir, endpoint, "flaskmt", db_password)
        standin_vars = {
            "standin_db_name": "flaskmt", "standin_db_user": "flaskmt",
            "standin_db_password": db_password,
            "standin_redis_token": self.vault["vault_redis_password"],
            "standin_tls_cert": str(cert), "standin_tls_key": str(key),
        }  # fmt: skip
        inventory = self.workdir / "managed.yml"
        inventory.write_text(hosts.inventory({"managed": ["managed"]}))
        prepared = Runner(self.bin_dir, inventory, self.workdir).run(
            str(MANAGED_SERVICES_PLAYBOOK), "-e", json.dumps(standin_vars),
            label="deploy (managed): stand-in services",
        )  # fmt: skip
        assert prepared.returncode == 0, prepared.tail()

        outputs = stand_in_outputs(
            hosts.address, hosts.user,
            database={"mode": "managed", "host": managed, "port": 5432, "name": "flaskmt",
                      "username": "flaskmt", "secret_arn": secret_arn},
            cache={"mode": "managed", "host": managed, "port": 6379, "tls": True},
        )  # fmt: skip
        self.provision_and_smoke(
            hosts,
            outputs,
            # The app hosts trust the stand-in's certificate as they trust Amazon's CA.
            trusted_certificates=[str(cert)],
            env={"AWS_ENDPOINT_URL": endpoint},
        )
        return db_password


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
