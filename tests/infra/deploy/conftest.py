"""Fixtures of the deploy tests (the CLI runner and the fake terraform are tests/infra's)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest


@pytest.fixture
def var_file(tmp_path: Path) -> Path:
    """A valid var file (its values are never sent anywhere by the tests that use the fake)."""
    path = tmp_path / "test.tfvars.json"
    path.write_text(
        json.dumps({"admin_cidrs": ["198.51.100.7/32"], "ssh_public_key": "ssh-ed25519 AAAA x"})
    )
    return path
