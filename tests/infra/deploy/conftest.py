"""Fixtures of the deploy tests: its venv (deploy/requirements.txt), a runner, a fake terraform."""

from __future__ import annotations

import json
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


@pytest.fixture
def var_file(tmp_path: Path) -> Path:
    """A valid var file (its values are never sent anywhere by the tests that use the fake)."""
    path = tmp_path / "test.tfvars.json"
    path.write_text(
        json.dumps({"admin_cidrs": ["198.51.100.7/32"], "ssh_public_key": "ssh-ed25519 AAAA x"})
    )
    return path
