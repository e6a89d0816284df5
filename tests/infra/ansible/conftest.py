"""Fixtures of the Ansible tests: the pinned Ansible venv, fresh hosts, and a playbook runner."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.ansible import ensure_ansible_venv
from tests.support.apt import ensure_debian_packages
from tests.support.hosts import ensure_host_image
from tests.support.need import need


@pytest.fixture(scope="session")
def ansible_bin() -> Path:
    need(shutil.which("git") is not None, "git is needed to build release archives")
    return ensure_ansible_venv()


@pytest.fixture(scope="session")
def engine_ready() -> None:
    need(os.geteuid() == 0, "booting test hosts needs root (rootful podman)")
    ensure_debian_packages(
        "podman", "openssh-client", "openssl", "postgresql-client", "redis-tools"
    )
    ensure_host_image()


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    yield tmp_path_factory.mktemp("ansible")
