"""Fixtures for the Docker tier: the engine, CA certificates for the build, the built stack."""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from docker_stack import ENGINE, REPO, TIMINGS, Stack, engine_environment, run

from tests.support.need import need

CERTS_DIR = REPO / "docker" / "certs"
HOST_CA_DIR = Path("/usr/local/share/ca-certificates")


@pytest.fixture(scope="session")
def engine_env() -> Iterator[dict[str, str]]:
    """The engine's environment; background helpers this session started are stopped after."""
    need(shutil.which("docker") is not None, "the docker CLI is not installed")
    need(ENGINE.exists(), f"{ENGINE} is missing")
    mode = run(["bash", str(ENGINE), "mode"]).stdout.strip()
    need(mode == "docker" or os.geteuid() == 0, "no Docker engine and not root to run podman")
    already_running = "podman-api: running" in run(["bash", str(ENGINE), "status"]).stdout
    TIMINGS.setdefault("tier_start", time.monotonic())
    started = time.monotonic()
    env = engine_environment()
    TIMINGS["engine_s"] = time.monotonic() - started
    yield env
    if mode == "podman" and not already_running:
        run(["bash", str(ENGINE), "teardown"], check=False)


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
    started = time.monotonic()
    try:
        stack.compose("build", timeout=1200)
        TIMINGS["build_s"] = time.monotonic() - started
        yield stack
    finally:
        stack.destroy()


def pytest_terminal_summary(terminalreporter) -> None:
    if "tier_start" not in TIMINGS:
        return
    total = time.monotonic() - TIMINGS["tier_start"]
    parts = ", ".join(f"{k} {v:.0f}s" for k, v in TIMINGS.items() if k.endswith("_s"))
    terminalreporter.write_line(f"docker tier: total {total:.0f}s ({parts})")
