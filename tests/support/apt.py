"""Debian packages a tier needs, installed on first use: a new machine has only what the project
installs itself."""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import time

from tests.support.need import need
from tests.support.paths import CACHE_ROOT

# wait for dpkg's lock when something else installs (another test worker, the stack's own helper)
APT_GET = ("apt-get", "-o", "DPkg::Lock::Timeout=600")
# `apt-get update` does not wait for the lists' lock (DPkg::Lock::Timeout covers dpkg's only): an
# apt run outside the project's lock (unattended upgrades) makes it fail at once, so it is retried,
# as tools/container-engine.sh does.
UPDATE_ATTEMPTS, UPDATE_PAUSE_SECONDS = 30, 10


def _missing(packages: tuple[str, ...]) -> list[str]:
    status = subprocess.run(
        ["dpkg-query", "-W", "-f=${Package} ${Status}\n", *packages],
        capture_output=True,
        text=True,
        check=False,
    )
    installed = {
        line.split()[0] for line in status.stdout.splitlines() if "install ok installed" in line
    }
    return [package for package in packages if package not in installed]


def ensure_debian_packages(*packages: str) -> None:
    """Install the packages that are missing (as root); otherwise skip, or fail under CI."""
    if shutil.which("dpkg-query") is None:
        need(False, f"not a Debian system: cannot install {', '.join(packages)}")
    if not _missing(packages):
        return
    can_install = os.geteuid() == 0 and shutil.which("apt-get") is not None
    need(can_install, f"missing Debian packages {_missing(packages)} and not root to install them")
    CACHE_ROOT.mkdir(parents=True, exist_ok=True)
    # one installer at a time among test workers; re-checked once the lock is ours
    with open(CACHE_ROOT / "apt.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        missing = _missing(packages)
        if not missing:
            return
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        _update(env)
        install = [*APT_GET, "install", "-y", "-qq", "--no-install-recommends", *missing]
        subprocess.run(install, check=True, env=env)


def debian_tool(command: str, package: str) -> str:
    """The path of `command`, installing Debian's `package` first when it is missing."""
    if shutil.which(command) is None:
        ensure_debian_packages(package)
    path = shutil.which(command)
    need(path is not None, f"{command} (Debian package {package}) is not installed")
    return str(path)


def _update(env: dict[str, str]) -> None:
    for _ in range(UPDATE_ATTEMPTS - 1):
        if subprocess.run([*APT_GET, "update", "-qq"], check=False, env=env).returncode == 0:
            return
        time.sleep(UPDATE_PAUSE_SECONDS)
    subprocess.run([*APT_GET, "update", "-qq"], check=True, env=env)  # the last one raises
