"""Fixtures shared by the infra tiers: the deploy CLI in its venv and a fake terraform (the
Ansible tier deploys onto its provisioned hosts with them, the deploy tier tests the CLI)."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support import aws
from tests.support.fake_terraform import FakeTerraform
from tests.support.paths import REPO
from tests.support.procs import run as run_command
from tests.support.venvs import tool_venv


@pytest.fixture(scope="session")
def deploy_python() -> Path:
    return tool_venv("deploy", REPO / "deploy/requirements.txt") / "bin/python"


Runner = Callable[..., subprocess.CompletedProcess]


@pytest.fixture
def run_deploy(deploy_python: Path, tmp_path: Path) -> Runner:
    """Run `python -m deploy ARGS` from the repository root in the deploy venv."""

    def run(
        *args: str, env: dict[str, str] | None = None, timeout: int = 600
    ) -> subprocess.CompletedProcess:
        full_env = aws.terraform_env({"DEPLOY_INVENTORY": str(tmp_path / "inventory.yml")})
        full_env.update(env or {})
        command = [str(deploy_python), "-m", "deploy", *args]
        return run_command(command, env=full_env, timeout=timeout, check=False)

    return run


@pytest.fixture
def fake_terraform(tmp_path: Path) -> FakeTerraform:
    directory = tmp_path / "fakebin"
    directory.mkdir()
    return FakeTerraform(directory)
