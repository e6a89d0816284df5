"""Fixtures for the Docker tier: the engine, CA certificates for the build, the built stack."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.compose import Stack, compose_environment
from tests.support.engine import ENGINE, engine
from tests.support.need import need
from tests.support.paths import REPO
from tests.support.timing import phase

CERTS_DIR = REPO / "docker" / "certs"
HOST_CA_DIR = Path("/usr/local/share/ca-certificates")


@pytest.fixture(scope="session")
def engine_env() -> Iterator[dict[str, str]]:
    """The engine's environment; background helpers this session started are stopped after."""
    need(shutil.which("docker") is not None, "the docker CLI is not installed")
    need(ENGINE.exists(), f"{ENGINE} is missing")
    mode = engine("mode").strip()
    need(mode == "docker" or os.geteuid() == 0, "no Docker engine and not root to run podman")
    already_running = "podman-api: running" in engine("status")
    with phase("docker: engine and stand-in images ready"):
        env = compose_environment()
    yield env
    if mode == "podman" and not already_running:
        engine("teardown")


@pytest.fixture(scope="session")
def build_certs() -> Iterator[None]:
    """This machine's extra CAs (TLS-intercepting proxy) for pip in the build; removed after."""
    added = []
    for cert in sorted(HOST_CA_DIR.glob("*.crt")):
        target = CERTS_DIR / cert.name
        if not target.exists():
            shutil.copy(cert, target)
            added.append(target)
    yield
    for target in added:
        target.unlink(missing_ok=True)


@pytest.fixture(scope="session")
def built_stack(engine_env, build_certs, tmp_path_factory) -> Iterator[Stack]:
    """A compose project whose images are built (nothing running yet); torn down at the end."""
    stack = Stack(env=engine_env, workdir=tmp_path_factory.mktemp("docker-stack"))
    try:
        with phase("docker: compose build"):
            stack.compose("build", timeout=1200)
        yield stack
    finally:
        stack.destroy()
