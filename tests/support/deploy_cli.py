"""`python -m deploy` run as a user runs it: in its own venv (deploy/requirements.txt), from the
repository root, with terraform's test environment (no real AWS credentials)."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.support import aws
from tests.support.paths import REPO
from tests.support.procs import run
from tests.support.venvs import tool_venv


def deploy_python() -> Path:
    return tool_venv("deploy", REPO / "deploy/requirements.txt") / "bin/python"


def run_deploy(
    *args: str, inventory: Path, env: dict[str, str] | None = None, timeout: int = 600
) -> subprocess.CompletedProcess:
    full_env = aws.terraform_env({"DEPLOY_INVENTORY": str(inventory)})
    full_env.update(env or {})
    command = [str(deploy_python()), "-m", "deploy", *args]
    return run(command, env=full_env, timeout=timeout, check=False)
