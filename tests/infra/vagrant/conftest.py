"""Fixtures of the Vagrant tests: packages and the Ansible venv for the provisioner."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.support import vagrant
from tests.support.ansible import ensure_ansible_venv
from tests.support.need import need


@pytest.fixture(scope="session")
def vagrant_ready() -> None:
    need(os.geteuid() == 0, "Vagrant with libvirt needs root here (libvirtd, box build)")
    vagrant.ensure_packages()
    need(shutil.which("vagrant") is not None, "vagrant is not installed")


@pytest.fixture(scope="session")
def ansible_venv() -> Path:
    """The project's pinned Ansible venv (the provisioner's), built under the tests' lock before
    `make vagrant-up` looks for it."""
    return ensure_ansible_venv()
