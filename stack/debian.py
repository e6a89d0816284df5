"""Tools the stack needs come from Debian's packages, installed on the fly when we are root."""

from __future__ import annotations

import os
import shutil
import subprocess

from stack.config import StackError


def ensure_tool(command: str, package: str) -> str:
    """Path of `command`; apt-installs `package` when missing and root, else a clear error."""
    found = shutil.which(command) or shutil.which(command, path="/usr/sbin:/usr/bin")
    if found:
        return found
    apt = shutil.which("apt-get")
    if os.geteuid() != 0 or apt is None:
        raise StackError(
            f"{command} is not installed; install Debian's package with "
            f"`sudo apt-get install {package}` and run the command again"
        )
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    print(f"{command} is missing: installing Debian's package {package}", flush=True)
    subprocess.run([apt, "update", "-qq"], check=True, env=env)  # noqa: S603 - fixed argv
    install = [apt, "install", "-y", "-qq", "--no-install-recommends", package]
    subprocess.run(install, check=True, env=env)  # noqa: S603 - fixed argv
    found = shutil.which(command, path="/usr/sbin:/usr/bin")
    if found is None:
        raise StackError(f"installed {package} but {command} is still not on PATH")
    return found
