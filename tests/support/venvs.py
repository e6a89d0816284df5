"""Tool virtualenvs (Ansible, checkov, moto, the deploy CLI...), one per requirements file.

Each lives under CACHE_ROOT/venvs/<name>-<hash of its requirements>, so it is built once per
machine and rebuilt when a pin changes; the make targets compute the same path (mk/tools.mk).
Tools pin libraries that would conflict with the app's, hence a venv each instead of .venv.
"""

from __future__ import annotations

import fcntl
import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

from tests.support.need import need
from tests.support.paths import CACHE_ROOT

VENVS = CACHE_ROOT / "venvs"


def venv_path(name: str, requirements: Path) -> Path:
    digest = hashlib.sha256(requirements.read_bytes()).hexdigest()[:10]
    return VENVS / f"{name}-{digest}"


def tool_venv(name: str, requirements: Path) -> Path:
    """The venv with `requirements` installed; built under a lock (test workers may ask at once)."""
    venv = venv_path(name, requirements)
    stamp = venv / ".installed"
    if stamp.exists():
        return venv
    VENVS.mkdir(parents=True, exist_ok=True)
    with open(VENVS / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if stamp.exists():  # built by another worker while we waited
            return venv
        shutil.rmtree(venv, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        result = subprocess.run(
            [str(venv / "bin/pip"), "install", "--quiet", "-r", str(requirements)],
            capture_output=True,
            text=True,
            timeout=1200,
            check=False,
        )
        need(result.returncode == 0, f"cannot install {requirements}: {result.stderr[-2000:]}")
        stamp.touch()
    return venv
