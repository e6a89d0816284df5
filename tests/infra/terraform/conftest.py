"""Fixtures of the Terraform tests: an emulated AWS (moto on loopback), an SSH key, the mirror."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import aws


@pytest.fixture(scope="session")
def plugin_dir() -> Path:
    return aws.plugin_dir()


@pytest.fixture(scope="module")
def aws_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A fresh moto server for each test module (state never leaks between modules)."""
    with aws.moto_server(log_dir=tmp_path_factory.mktemp("moto")) as endpoint:
        yield endpoint


@pytest.fixture(scope="module")
def ssh_public_key(tmp_path_factory: pytest.TempPathFactory) -> str:
    return aws.ssh_public_key(tmp_path_factory.mktemp("ssh"))
