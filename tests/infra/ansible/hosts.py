"""Fresh Debian 12 systemd hosts reachable over SSH, as Vagrant would hand them to Ansible.

Each host is a rootful podman container booted with systemd as PID 1 (`--systemd=always`) from
the project's debootstrap image (tests/infra/engine.sh systemd-base), on its own podman network:
every host has its own network namespace and a real IP, so PostgreSQL on 5432 or nginx on 80 in
a host never clash with the machine's own services. Like a Vagrant base box, each host has a user
`vagrant` with passwordless sudo and our key; Ansible logs in as it and uses `become`.

Reusable API (the Terraform/deploy tests use it too):

    from tests.infra.ansible.hosts import boot_hosts

    with boot_hosts(["lb", "app1", "db"]) as hosts:
        hosts.address("lb")         # "10.89.3.2": reachable from this machine (and between hosts)
        hosts.key_path              # Path of the SSH private key for hosts.user ("vagrant")
        hosts.ssh_args              # ["-i", key, "-o", ...]: options for ssh/ansible
        hosts.inventory({"lb": ["lb"], "app": ["app1"], "db": ["db"]})  # a YAML inventory text
    # leaving the block removes the containers and the network (also on errors)

`boot_hosts` needs root and podman; `ensure_engine()` runs engine.sh setup and builds the image.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import subprocess
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[3]
ENGINE = REPO / "tests" / "infra" / "engine.sh"
IMAGE = "localhost/debian-systemd:bookworm"
# Kept between runs: the key is baked into nothing permanent (it is added to each host at boot).
STATE_DIR = Path(os.environ.get("FLASK_MT_TEST_STATE", "/var/tmp/flask-multitier-ansible"))
SSH_OPTIONS = (
    "-o",
    "StrictHostKeyChecking=no",
    "-o",
    "UserKnownHostsFile=/dev/null",
    "-o",
    "LogLevel=ERROR",
    "-o",
    "ConnectTimeout=5",
)


class HostsError(RuntimeError):
    """A host could not be booted or reached; the message says which and why."""


def _run(*argv: str, timeout: float = 300, check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
    if check and result.returncode != 0:
        raise HostsError(
            f"{' '.join(argv[:6])} failed ({result.returncode}):\n{result.stderr[-2000:]}"
        )
    return result


def ssh_key() -> Path:
    """The test SSH key pair (created once under STATE_DIR); returns the private key path."""
    STATE_DIR.mkdir(parents=True, exist_ok=True)
    key = STATE_DIR / "id_ed25519"
    if not key.exists():
        _run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "flask-multitier-tests",
             "-f", str(key))  # fmt: skip
    return key


def ensure_engine() -> None:
    """Host prep (engine.sh setup) and the systemd image, built once and then reused."""
    _run("bash", str(ENGINE), "setup", timeout=900)
    if _run("podman", "image", "exists", IMAGE, check=False).returncode != 0:
        _run("bash", str(ENGINE), "systemd-base", f"{ssh_key()}.pub", timeout=900)


@dataclass
class Hosts:
    """Booted hosts: names -> addresses, plus how to log in."""

    addresses: dict[str, str]
    key_path: Path
    network: str
    containers: dict[str, str] = field(default_factory=dict)
    user: str = "vagrant"

    def address(self, name: str) -> str:
        return self.addresses[name]

    @property
    def ssh_args(self) -> list[str]:
        return ["-i", str(self.key_path), *SSH_OPTIONS]

    def ssh(self, name: str, command: str, timeout: float = 60) -> subprocess.CompletedProcess:
        """Run a shell command on a host as the login user (not checked)."""
        return _run("ssh", *self.ssh_args, f"{self.user}@{self.address(name)}", command,
                    timeout=timeout, check=False)  # fmt: skip

    def inventory(
        self, groups: Mapping[str, Sequence[str]], variables: Mapping[str, object] | None = None
    ) -> str:
        """A YAML inventory with the given groups, connection settings and extra `all` vars."""
        all_vars = {
            "ansible_user": self.user,
            "ansible_ssh_private_key_file": str(self.key_path),
            "ansible_ssh_common_args": " ".join(SSH_OPTIONS),
            **(variables or {}),
        }
        children = {
            group: {"hosts": {name: {"ansible_host": self.address(name)} for name in names}}
            for group, names in groups.items()
        }
        return yaml.safe_dump({"all": {"vars": all_vars, "children": children}}, sort_keys=False)


def _prepare_login(container: str, public_key: str, user: str) -> None:
    """The Vagrant base-box convention: a sudo user with our key."""
    script = (
        f"id {user} >/dev/null 2>&1 || useradd -m -s /bin/bash {user}; "
        f"install -d -m 700 -o {user} -g {user} /home/{user}/.ssh; "
        f"printf '%s\\n' '{public_key}' > /home/{user}/.ssh/authorized_keys; "
        f"chown {user}:{user} /home/{user}/.ssh/authorized_keys; "
        f"chmod 600 /home/{user}/.ssh/authorized_keys; "
        f"echo '{user} ALL=(ALL) NOPASSWD: ALL' > /etc/sudoers.d/{user}; "
        f"chmod 440 /etc/sudoers.d/{user}"
    )
    _run("podman", "exec", container, "sh", "-c", script, timeout=60)


def _wait_for_ssh(hosts: Hosts, name: str, deadline: float) -> None:
    last = ""
    while time.monotonic() < deadline:
        result = hosts.ssh(name, "sudo -n true && systemctl is-system-running --wait", timeout=30)
        # "degraded" still means booted; ssh/sudo failing means not yet
        if result.returncode == 0 or result.stdout.strip() in {"running", "degraded"}:
            return
        last = (result.stderr or result.stdout).strip()
        time.sleep(1)
    raise HostsError(f"host {name} ({hosts.address(name)}) not reachable over SSH: {last}")


def _remove(hosts: Hosts) -> None:
    for container in hosts.containers.values():
        _run("podman", "rm", "-f", "-t", "5", container, check=False, timeout=120)
    _run("podman", "network", "rm", "-f", hosts.network, check=False, timeout=60)


@contextlib.contextmanager
def boot_hosts(
    names: Sequence[str], *, prefix: str = "fmt", boot_timeout: float = 120
) -> Iterator[Hosts]:
    """Boot one fresh host per name on a new private network; remove them all on exit."""
    if not names or len(set(names)) != len(names):
        raise ValueError(f"host names must be unique and non-empty, got {list(names)}")
    ensure_engine()
    key = ssh_key()
    public_key = Path(f"{key}.pub").read_text().strip()
    token = secrets.token_hex(3)
    network = f"{prefix}-{token}"
    hosts = Hosts(addresses={}, key_path=key, network=network)
    try:
        # the host's uplink has MTU 1400; a larger bridge MTU can stall big downloads
        _run("podman", "network", "create", "--opt", "mtu=1400", network, timeout=60)
        for name in names:
            container = f"{prefix}-{token}-{name}"
            hosts.containers[name] = container
            _run("podman", "run", "-d", "--name", container, "--hostname", name,
                 "--network", network, "--systemd=always", IMAGE, "/sbin/init")  # fmt: skip
            info = json.loads(_run("podman", "inspect", container).stdout)[0]
            networks = info["NetworkSettings"]["Networks"]
            hosts.addresses[name] = networks[network]["IPAddress"]
            _prepare_login(container, public_key, hosts.user)
        deadline = time.monotonic() + boot_timeout
        for name in names:
            _wait_for_ssh(hosts, name, deadline)
        yield hosts
    finally:
        _remove(hosts)
