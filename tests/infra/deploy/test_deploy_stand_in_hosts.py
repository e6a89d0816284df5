"""The generated inventory against real SSH hosts: stand-in hosts (systemd containers) play the
AWS instances, one of them the bastion. Ansible must reach every host through the bastion, as it
would in the VPC, where only the bastion accepts SSH from outside.
The whole handoff (`deploy inventory`, `provision`, `smoke`) on both topologies runs in the
Ansible tier's layered test, on the hosts it has provisioned (tests/support/deploy_flow.py).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import yaml

from tests.support.ansible import ansible_env, ensure_ansible_venv
from tests.support.apt import ensure_debian_packages
from tests.support.deploy_flow import stand_in_outputs
from tests.support.hosts import boot_hosts, ensure_host_image
from tests.support.need import need

NAMES = ["bastion", "lb", "app1", "app2", "db", "cache"]


def test_ansible_reaches_every_host_through_the_bastion(
    run_deploy, fake_terraform, tmp_path: Path
) -> None:
    need(os.geteuid() == 0, "booting stand-in hosts needs root (rootful podman)")
    ensure_debian_packages("podman", "openssh-client")

    ensure_host_image()
    bin_dir = ensure_ansible_venv()
    with boot_hosts(NAMES, prefix="fmt-dep") as hosts:
        fake_terraform.outputs(stand_in_outputs(hosts.address, hosts.user))
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
