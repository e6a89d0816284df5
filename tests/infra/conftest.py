"""Fixtures shared by the infra tiers: the deploy CLI in its venv and a fake terraform (the
Ansible tier deploys onto its provisioned hosts with them, the deploy tier tests the CLI)."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support import deploy_cli
from tests.support.fake_terraform import FakeTerraform


@pytest.fixture(scope="session")
def deploy_python() -> Path:
    return deploy_cli.deploy_python()


Runner = Callable[..., subprocess.CompletedProcess]


@pytest.fixture
def run_deploy(deploy_python: Path, tmp_path: Path) -> Runner:
    """Run `python -m deploy ARGS` from the repository root in the deploy venv."""

    def run(
        *args: str, env: dict[str, str] | None = None, timeout: int = 600
    ) -> subprocess.CompletedProcess:
        return deploy_cli.run_deploy(
            *args, inventory=tmp_path / "inventory.yml", env=env, timeout=timeout
        )

    return run


@pytest.fixture
def fake_terraform(tmp_path: Path) -> FakeTerraform:
    directory = tmp_path / "fakebin"
    directory.mkdir()
    return FakeTerraform(directory)
