"""Vagrant on this machine: packages, a locally built Debian 12 box, libvirt without systemd.

Box catalogues are unreachable here, so the box is built from Debian's packages
(vagrant/box/build-box.sh) and registered under the name the Vagrantfile asks for. The built box
and the Vagrant home are cached under /var/tmp between runs (rebuilt when the build script
changes).
"""

from __future__ import annotations

import hashlib
import os
import socket
import subprocess
import time
from pathlib import Path

import yaml

from tests.support.need import ensure_debian_packages

REPO = Path(__file__).resolve().parents[3]
BUILD_BOX = REPO / "vagrant" / "box" / "build-box.sh"
LIBVIRT_DAEMONS = REPO / "vagrant" / "libvirt-daemons.sh"
CACHE = Path(os.environ.get("FLASK_MT_VAGRANT_CACHE", "/var/tmp/flask-multitier-vagrant"))
VAGRANT_HOME = CACHE / "home"
# phase times, printed at the end of the session (measured, never asserted)
PHASES: list[str] = []
PACKAGES = (
    "vagrant",
    "vagrant-libvirt",
    "libvirt-daemon-system",
    "libvirt-daemon-driver-qemu",
    "libvirt-clients",
    "qemu-system-x86",
    "qemu-utils",
    "debootstrap",
    "dnsmasq-base",
    "iptables",
    "rsync",
    "e2fsprogs",
    "openssh-client",
)


def ensure_packages() -> None:
    ensure_debian_packages(*PACKAGES)


def box_name() -> str:
    """The box the unmodified Vagrantfile uses (vagrant/settings.yml)."""
    return str(yaml.safe_load((REPO / "vagrant" / "settings.yml").read_text())["box"])


def box_file() -> Path:
    digest = hashlib.sha256(BUILD_BOX.read_bytes()).hexdigest()[:8]
    return CACHE / f"debian12-bookworm-{digest}.box"


def vagrant_env(dotfile: Path, **extra: str) -> dict[str, str]:
    env = {
        **os.environ,
        "VAGRANT_HOME": str(VAGRANT_HOME),
        # keep the repo's own .vagrant/ (a developer's VM) out of the tests
        "VAGRANT_DOTFILE_PATH": str(dotfile),
        "VAGRANT_CHECKPOINT_DISABLE": "1",
        "VAGRANT_NO_COLOR": "1",
    }
    env.update(extra)
    return env


def vagrant(
    *args: str, env: dict[str, str], cwd: Path = REPO, timeout: float = 120
) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["vagrant", *args, "--no-color"] if args[0] != "box" else ["vagrant", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def ensure_box(env: dict[str, str]) -> dict[str, float]:
    """Build the box once (cached) and register it under box_name(); returns phase times."""
    phases: dict[str, float] = {}
    box = box_file()
    if not box.exists():
        start = time.monotonic()
        subprocess.run(["bash", str(BUILD_BOX), str(box)], check=True, timeout=1200,
                       capture_output=True)  # fmt: skip
        phases["build box (debootstrap + qcow2)"] = time.monotonic() - start
    marker = VAGRANT_HOME / f"registered-{box.name}"
    listed = vagrant("box", "list", env=env).stdout
    if not marker.exists() or box_name() not in listed:
        start = time.monotonic()
        added = vagrant("box", "add", "--force", "--name", box_name(), "--provider", "libvirt",
                        str(box), env=env, timeout=600)  # fmt: skip
        assert added.returncode == 0, added.stdout + added.stderr
        marker.write_text(box_name())
        phases["register box"] = time.monotonic() - start
    return phases


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def libvirt(command: str) -> str:
    result = subprocess.run(["bash", str(LIBVIRT_DAEMONS), command], capture_output=True,
                            text=True, timeout=120, check=True)  # fmt: skip
    return result.stdout.strip()


def record_phase(label: str, seconds: float) -> None:
    PHASES.append(f"{label}: {seconds:.1f} s")


def drop_stale_box_volumes() -> None:
    """vagrant-libvirt copies a box into the storage pool once per box version; after the box
    was rebuilt and re-registered, remove the old copies so they neither linger nor get used."""
    prefix = box_name().replace("/", "-VAGRANTSLASH-") + "_vagrant_box_image"
    virsh = ["virsh", "-c", "qemu:///system"]
    listed = subprocess.run([*virsh, "vol-list", "default"], capture_output=True,
                            text=True, timeout=60, check=False)  # fmt: skip
    for line in listed.stdout.splitlines():
        volume = line.split()[0] if line.strip() else ""
        if volume.startswith(prefix):
            subprocess.run([*virsh, "vol-delete", volume, "--pool", "default"],
                           capture_output=True, timeout=60, check=False)  # fmt: skip


def remove_leftover_domain(machine: str) -> None:
    """A run that was killed leaves its VM defined under vagrant-libvirt's name for it
    (<project folder>_<machine>), which would block the next `vagrant up`: remove it."""
    domain = f"{REPO.name}_{machine}"
    virsh = ["virsh", "-c", "qemu:///system"]
    subprocess.run([*virsh, "destroy", domain], capture_output=True, timeout=60, check=False)
    subprocess.run([*virsh, "undefine", domain, "--remove-all-storage"], capture_output=True,
                   timeout=60, check=False)  # fmt: skip
