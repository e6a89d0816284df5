"""Vagrant on this machine: packages, a locally built Debian 12 box, libvirt without systemd.

No box catalogue is needed: the box is built from Debian's packages (vagrant/box/build-box.sh)
and registered under the name the Vagrantfile asks for. The built box and the Vagrant home are
kept under the test cache root between runs (the box is rebuilt when its build script changes).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path

import yaml

from tests.support.apt import ensure_debian_packages
from tests.support.paths import CACHE_ROOT, REPO
from tests.support.procs import run
from tests.support.timing import phase

BUILD_BOX = REPO / "vagrant" / "box" / "build-box.sh"
LIBVIRT_DAEMONS = REPO / "tools" / "libvirt-daemons.sh"
CACHE = CACHE_ROOT / "vagrant"
VAGRANT_HOME = CACHE / "home"
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
        # each task's duration at the end of the provisioner's output (kept in the test's log)
        "ANSIBLE_CALLBACKS_ENABLED": "ansible.posix.profile_tasks",
    }
    env.update(extra)
    return env


def run_vagrant(
    *args: str, env: dict[str, str], cwd: Path = REPO, timeout: float = 120
) -> subprocess.CompletedProcess:
    command = ["vagrant", *args, "--no-color"] if args[0] != "box" else ["vagrant", *args]
    return run(command, env=env, cwd=cwd, timeout=timeout, check=False)


def ensure_box(env: dict[str, str]) -> bool:
    """Build the box once (cached) and register it under box_name(); True when it was
    (re)registered, so older copies of it in libvirt's pool are stale."""
    box = box_file()
    if not box.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        with phase("vagrant: build box (debootstrap + qcow2)"):
            subprocess.run(["bash", str(BUILD_BOX), str(box)], check=True, timeout=1200,
                           capture_output=True)  # fmt: skip
    marker = VAGRANT_HOME / f"registered-{box.name}"
    listed = run_vagrant("box", "list", env=env).stdout
    if marker.exists() and box_name() in listed:
        return False
    with phase("vagrant: register box"):
        added = run_vagrant("box", "add", "--force", "--name", box_name(), "--provider", "libvirt",
                        str(box), env=env, timeout=600)  # fmt: skip
    assert added.returncode == 0, added.stdout + added.stderr
    marker.write_text(box_name())
    return True


def libvirt(command: str) -> str:
    result = subprocess.run(["bash", str(LIBVIRT_DAEMONS), command], capture_output=True,
                            text=True, timeout=120, check=True)  # fmt: skip
    return result.stdout.strip()


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
