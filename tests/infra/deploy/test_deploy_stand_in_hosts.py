"""The generated inventory against real SSH hosts: the Ansible tests' stand-in hosts (systemd
containers) play the AWS instances, one of them the bastion. Ansible must reach every host through
the bastion, as it would in the VPC, where only the bastion accepts SSH from outside.
Then the whole handoff through the real CLI: `deploy inventory`, `deploy provision` (site.yml
through the bastion) and `deploy smoke`, on the EC2 topology (PostgreSQL and Redis on own hosts).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest
import yaml

from tests.support.need import ensure_debian_packages, need

NAMES = ["bastion", "lb", "app1", "app2", "db", "cache"]


def _outputs(address, user: str) -> dict:
    """Terraform outputs (terraform/outputs.tf's shape) for the stand-in hosts."""
    return {
        "public_url": f"http://{address('lb')}",
        "ssh_user": user,
        "bastion_public_ip": address("bastion"),
        "lb_hosts": {"lb": {"public_ip": address("lb"), "private_ip": address("lb")}},
        "app_hosts": {"app1": address("app1"), "app2": address("app2")},
        "db_hosts": {"db": address("db")},
        "cache_hosts": {"cache": address("cache")},
        "database": {"mode": "ec2", "host": address("db"), "port": 5432, "name": "flaskmt"},
        "cache": {"mode": "ec2", "host": address("cache"), "port": 6379, "tls": False},
    }


def test_ansible_reaches_every_host_through_the_bastion(
    run_deploy, fake_terraform, tmp_path: Path
) -> None:
    need(os.geteuid() == 0, "booting stand-in hosts needs root (rootful podman)")
    ensure_debian_packages("podman", "openssh-client")
    from tests.infra.ansible.hosts import boot_hosts, ensure_engine
    from tests.infra.ansible.tooling import ansible_env, ensure_ansible_venv

    ensure_engine()
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


@pytest.mark.timeout(2700)  # a full site.yml run with package installs, on shared cores
def test_deploy_provisions_and_smoke_tests_the_stand_in_hosts(
    run_deploy, fake_terraform, tmp_path: Path, record_phase
) -> None:
    need(os.geteuid() == 0, "booting stand-in hosts needs root (rootful podman)")
    need(shutil.which("git") is not None, "git is needed to build the release archive")
    ensure_debian_packages("podman", "openssh-client")
    from tests.infra.ansible.hosts import boot_hosts, ensure_engine
    from tests.infra.ansible.tooling import (
        ansible_env,
        ensure_ansible_venv,
        extra_ca_certificates,
        recap,
        write_vault,
    )
    from tests.infra.ansible.web import create_link, follow

    ensure_engine()
    bin_dir = ensure_ansible_venv()
    # Secrets as in production: an encrypted vault in the inventory's group_vars/all/.
    inventory = tmp_path / "aws" / "hosts.yml"
    password_file, _ = write_vault(inventory.parent, bin_dir)
    # What only this machine needs: its proxy's CA for pip on the hosts, a private archive cache.
    test_vars = tmp_path / "test-vars.yml"
    test_vars.write_text(yaml.safe_dump({
        "common_ca_certificates": extra_ca_certificates(),
        "app_archive_cache_dir": str(tmp_path / "releases"),
    }))  # fmt: skip
    # Ansible from its pinned venv, without colours; host keys are checked as the inventory says
    # (accept-new into the environment's known_hosts), not turned off as in the Ansible tests.
    env = {
        name: value
        for name, value in ansible_env(bin_dir).items()
        if name.startswith("ANSIBLE_") and name != "ANSIBLE_HOST_KEY_CHECKING"
    }
    env["ANSIBLE_PLAYBOOK"] = str(bin_dir / "ansible-playbook")

    start = time.monotonic()
    with boot_hosts(NAMES, prefix="fmt-dprov") as hosts:
        record_phase("deploy: boot 6 stand-in hosts", time.monotonic() - start)
        fake_terraform.outputs(_outputs(hosts.address, hosts.user))
        env.update(fake_terraform.env)
        options = (
            "--terraform-bin", str(fake_terraform.path),
            "--inventory", str(inventory),
            "--ssh-key", str(hosts.key_path),
            "--known-hosts", str(tmp_path / "known_hosts"),
        )  # fmt: skip
        written = run_deploy(*options, "inventory", env=env)
        assert written.returncode == 0, written.stderr

        start = time.monotonic()
        provision = run_deploy(
            *options, "provision", "--",
            "--vault-password-file", str(password_file), "-e", f"@{test_vars}",
            env=env,
            timeout=2400,
        )  # fmt: skip
        record_phase("deploy: provision (site.yml through the bastion)", time.monotonic() - start)
        output = provision.stdout + provision.stderr
        assert provision.returncode == 0, output[-6000:]
        counters = recap(provision.stdout)
        assert set(counters) == set(NAMES) - {"bastion"}, output[-3000:]
        assert all(c["failed"] == c["unreachable"] == 0 for c in counters.values()), counters

        base_url = f"http://{hosts.address('lb')}"
        start = time.monotonic()
        smoke = run_deploy(*options, "smoke", "--url", base_url, env=env)
        record_phase("deploy: smoke", time.monotonic() - start)
        assert smoke.returncode == 0, smoke.stdout + smoke.stderr
        # Ready means PostgreSQL answers; "ok" (not "degraded") with the Redis backend means the
        # app reaches Redis on the cache host too.
        ready = json.loads(smoke.stdout)["ready"]
        assert ready["status"] == "ok", ready
        assert ready["checks"]["cache"]["backend"] == "redis", ready

        code, target = create_link(base_url)
        answers = [follow(base_url, code) for _ in range(12)]
        assert {r.status_code for r in answers} == {302}
        assert {r.headers["Location"] for r in answers} == {target}
        assert {r.headers["X-Served-By"] for r in answers} == {"app1", "app2"}
