"""Fixtures of the Vagrant tests: packages, the Ansible venv for the provisioner, CPU priority."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import procs, vagrant
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


@pytest.fixture
def first_on_the_cpu() -> Iterator[None]:
    """A real `vagrant up` is the run's longest lane (a VM emulated by TCG, provisioned twice): it
    and what it starts (the box build, libvirtd and so the VM, the provisioner) go first on the
    CPU, and the lanes with time to spare wait instead."""
    with procs.raised_priority():
        yield
