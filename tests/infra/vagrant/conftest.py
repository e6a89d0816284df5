"""Fixtures of the Vagrant tests: packages, the Ansible venv for the provisioner, phase times."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.infra.ansible.tooling import ensure_ansible_venv
from tests.infra.vagrant import harness
from tests.support.need import need


@pytest.fixture(scope="session")
def vagrant_ready() -> None:
    need(os.geteuid() == 0, "Vagrant with libvirt needs root here (libvirtd, box build)")
    harness.ensure_packages()
    need(shutil.which("vagrant") is not None, "vagrant is not installed")


@pytest.fixture(scope="session")
def provisioner_path() -> str:
    """PATH with the project's pinned ansible-playbook first (Vagrant's provisioner calls it)."""
    bin_dir: Path = ensure_ansible_venv()
    return f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"


def pytest_terminal_summary(terminalreporter) -> None:  # type: ignore[no-untyped-def]
    if harness.PHASES:
        terminalreporter.section("vagrant phase times")
        for line in harness.PHASES:
            terminalreporter.write_line(line)
