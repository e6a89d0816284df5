"""What a test needs from the machine, in one place.

Locally a missing service or tool skips the test with the reason; with CI=true it fails, because
CI must prove every tier (a green run that skipped the real parts would prove nothing).
"""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def need(ok: bool, why: str) -> None:
    """Skip (locally) or fail (in CI) unless `ok`."""
    if ok:
        return
    if IN_CI:
        pytest.fail(f"CI=true and {why}", pytrace=False)
    pytest.skip(why)


def _missing(packages: tuple[str, ...]) -> list[str]:
    missing = []
    for package in packages:
        status = subprocess.run(
            ["dpkg-query", "-W", "-f=${Status}", package],
            capture_output=True,
            text=True,
            check=False,
        )
        if "install ok installed" not in status.stdout:
            missing.append(package)
    return missing


def ensure_debian_packages(*packages: str) -> None:
    """Install the Debian packages a tier needs, when missing and when we are allowed to.

    A new machine has only what the project installs itself, so tests bring their own tools.
    """
    if shutil.which("dpkg-query") is None:
        need(False, f"not a Debian system: cannot install {', '.join(packages)}")
    missing = _missing(packages)
    if not missing:
        return
    can_install = os.geteuid() == 0 and shutil.which("apt-get") is not None
    need(can_install, f"missing Debian packages {missing} and not root to install them")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    # several test processes may install at once: wait for dpkg's lock instead of failing
    wait_for_lock = ("-o", "DPkg::Lock::Timeout=600")
    subprocess.run(["apt-get", *wait_for_lock, "update", "-qq"], check=True, env=env)
    subprocess.run(
        ["apt-get", *wait_for_lock, "install", "-y", "-qq", "--no-install-recommends", *missing],
        check=True,
        env=env,
    )
