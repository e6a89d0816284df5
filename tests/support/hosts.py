"""Fresh Debian 12 systemd hosts reachable over SSH, as Vagrant would hand them to Ansible.

Each host is a rootful podman container booted with systemd as PID 1 (`--systemd=always`) from
an image built on the project's debootstrap base (tests/support/hosts/Dockerfile), on its own
podman network:
every host has its own network namespace and a real IP, so PostgreSQL on 5432 or nginx on 80 in
a host never clash with the machine's own services. Like a Vagrant base box, each host has a user
`vagrant` with passwordless sudo and our key; Ansible logs in as it and uses `become`.

Reusable API (the Terraform/deploy tests use it too):

    from tests.support.hosts import boot_hosts

    with boot_hosts(["lb", "app1", "db"]) as hosts:
        hosts.address("lb")         # "10.89.3.2": reachable from this machine (and between hosts)
        hosts.key_path              # Path of the SSH private key for hosts.user ("vagrant")
        hosts.ssh_args              # ["-i", key, "-o", ...]: options for ssh/ansible
        hosts.inventory({"lb": ["lb"], "app": ["app1"], "db": ["db"]})  # a YAML inventory text
    # leaving the block removes the containers and the network (also on errors)

`boot_hosts` needs root and podman; `ensure_host_image()` prepares the engine and builds the image.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import secrets
import shlex
import subprocess
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from tests.support.engine import BASE_IMAGE, ensure_base
from tests.support.paths import CACHE_ROOT
from tests.support.procs import run

IMAGE_CONTEXT = Path(__file__).parent / "hosts"
IMAGE = "localhost/flask-multitier-test-host:bookworm"
# Kept between runs: the key is baked into nothing (it is added to each host at boot).
KEY_DIR = CACHE_ROOT / "ssh"
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


def ssh_key() -> Path:
    """The test SSH key pair (created once under KEY_DIR); returns the private key path."""
    KEY_DIR.mkdir(parents=True, exist_ok=True)
    key = KEY_DIR / "id_ed25519"
    with open(KEY_DIR / "key.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not key.exists():
            run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "flask-multitier-tests",
                 "-f", str(key)])  # fmt: skip
    return key


def _image_key() -> str:
    """The image is rebuilt when its Dockerfile changes (or the base image was rebuilt)."""
    base_id = run(["podman", "image", "inspect", "-f", "{{.Id}}", BASE_IMAGE]).stdout.strip()
    dockerfile = (IMAGE_CONTEXT / "Dockerfile").read_bytes()
    return hashlib.sha256(dockerfile + base_id.encode()).hexdigest()[:16]


def ensure_host_image() -> None:
    """Host prep, the debootstrap base and the systemd host image, built once and then reused."""
    ensure_base()
    KEY_DIR.mkdir(parents=True, exist_ok=True)
    with open(KEY_DIR.parent / "host-image.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        key = _image_key()
        label = '{{index .Labels "flask-multitier.key"}}'
        built = run(["podman", "image", "inspect", "-f", label, IMAGE], check=False).stdout.strip()
        if built != key:
            run(["podman", "build", "-q", "--format", "docker", "--build-arg",
                 f"BASE_IMAGE={BASE_IMAGE}", "--label", f"flask-multitier.key={key}",
                 "-t", IMAGE, str(IMAGE_CONTEXT)], timeout=900)  # fmt: skip


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
        login = f"{self.user}@{self.address(name)}"
        return run(["ssh", *self.ssh_args, login, command], timeout=timeout, check=False)

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
    run(["podman", "exec", container, "sh", "-c", script], timeout=60)


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
        run(["podman", "rm", "-f", "-t", "5", container], check=False, timeout=120)
    run(["podman", "network", "rm", "-f", hosts.network], check=False, timeout=60)


@contextlib.contextmanager
def boot_hosts(
    names: Sequence[str], *, prefix: str = "fmt", boot_timeout: float = 120
) -> Iterator[Hosts]:
    """Boot one fresh host per name on a new private network; remove them all on exit."""
    if not names or len(set(names)) != len(names):
        raise ValueError(f"host names must be unique and non-empty, got {list(names)}")
    ensure_host_image()
    key = ssh_key()
    public_key = Path(f"{key}.pub").read_text().strip()
    token = secrets.token_hex(3)
    network = f"{prefix}-{token}"
    hosts = Hosts(addresses={}, key_path=key, network=network)
    try:
        # a bridge MTU above the uplink's stalls big downloads; 1400 fits under tunnelled uplinks
        run(["podman", "network", "create", "--opt", "mtu=1400", network], timeout=60)
        for name in names:
            container = f"{prefix}-{token}-{name}"
            hosts.containers[name] = container
            # NET_ADMIN: a host's own firewall (nftables), as on a VM
            run(["podman", "run", "-d", "--name", container, "--hostname", name,
                 "--network", network, "--systemd=always", "--cap-add", "NET_ADMIN",
                 IMAGE, "/sbin/init"])  # fmt: skip
            info = json.loads(run(["podman", "inspect", container]).stdout)[0]
            networks = info["NetworkSettings"]["Networks"]
            hosts.addresses[name] = networks[network]["IPAddress"]
            _prepare_login(container, public_key, hosts.user)
        deadline = time.monotonic() + boot_timeout
        for name in names:
            _wait_for_ssh(hosts, name, deadline)
        yield hosts
    finally:
        _remove(hosts)


# GET /readyz through the host's own nginx over HTTPS (for its public name, from 127.0.0.1: the
# closed edge answers /readyz only to monitoring addresses, and the host itself is one).
_LOCAL_READYZ = """
import socket, ssl, sys
name = sys.argv[1]
tls = ssl._create_unverified_context().wrap_socket(
    socket.create_connection(("127.0.0.1", 443), timeout=30), server_hostname=name)
tls.sendall(f"GET /readyz HTTP/1.1\\r\\nHost: {name}\\r\\nConnection: close\\r\\n\\r\\n".encode())
data = b""
while chunk := tls.recv(65536):
    data += chunk
head, _, body = data.partition(b"\\r\\n\\r\\n")
print(head.split()[1].decode())
print(body.decode())
"""


def readyz_from_the_host(hosts: Hosts, host: str, name: str) -> tuple[int, dict]:
    """/readyz's status and JSON body as a monitoring agent on `host` sees it for `name`."""
    result = hosts.ssh(host, f"python3 -c {shlex.quote(_LOCAL_READYZ)} {shlex.quote(name)}")
    status, _, body = result.stdout.partition("\n")
    assert status.strip().isdigit(), result.stdout + result.stderr
    return int(status), json.loads(body)
