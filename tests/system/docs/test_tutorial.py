"""The tutorial's commands, run as a reader would type them, so the docs cannot rot.

Each runnable section runs in a fresh copy of the working tree (sharing .venv), on free ports
(the tutorial's 5000 and 8080 are rewritten), against a throwaway PostgreSQL database.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.support.apt import ensure_debian_packages
from tests.support.ports import free_port
from tests.support.services import SYSTEM_REDIS_URL, scratch_database
from tests.support.tutorial import Block, adapt, claim, reader_checkout

# Steps 1 and 2 run on this machine alone; the later steps' blocks are run by the infra tests
# that own their hosts, VMs and emulator (see tests/support/tutorial.py).
STEPS = {"1": claim("1", "local"), "2": claim("2", "local")}


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    return reader_checkout(tmp_path / "repo")


@pytest.fixture
def reader_env(tmp_path: Path) -> Iterator[dict[str, str]]:
    with scratch_database("fm_docs") as database_url:
        yield {
            **os.environ,
            "PORT": str(free_port()),
            "STACK_PORT": str(free_port()),
            "DATABASE_URL": database_url,
            "REDIS_URL": SYSTEM_REDIS_URL,
        }


def _on_free_ports(code: str, env: dict[str, str]) -> str:
    return adapt(code, "local", port=env["PORT"], stack_port=env["STACK_PORT"])


def _wait_ready(url: str, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 180  # the first `make run` may build the venv
    while time.monotonic() < deadline:
        assert process.poll() is None, "the server stopped before it was ready"
        try:
            if requests.get(url, timeout=2).ok:
                return
        except requests.RequestException:
            time.sleep(0.3)
    raise AssertionError(f"{url} never answered")


@pytest.mark.parametrize("step", sorted(STEPS))
def test_tutorial_step_runs_as_written(
    step: str, workdir: Path, reader_env: dict[str, str]
) -> None:
    ensure_debian_packages("curl", "nginx")
    env = dict(reader_env)
    if step == "1":
        # Step 1 promises "no services needed": no database or cache in the environment.
        for name in ("DATABASE_URL", "REDIS_URL"):
            env.pop(name)
    background: list[subprocess.Popen[str]] = []
    try:
        for block in STEPS[step]:
            _run_block(block, workdir, env, background)
    finally:
        for process in background:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=30)
        subprocess.run(["make", "stack-down"], cwd=workdir, env=env, capture_output=True)


def _run_block(
    block: Block, workdir: Path, env: dict[str, str], background: list[subprocess.Popen[str]]
) -> None:
    code = _on_free_ports(block.code, env)
    if block.kind == "start":
        process = subprocess.Popen(
            ["bash", "-c", code],
            cwd=workdir,
            env=env,
            text=True,
            start_new_session=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        background.append(process)
        _wait_ready(_on_free_ports(block.ready or "", env), process)
        return
    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", code],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"$ {code}\n{output}"
    for expected in block.expect:
        assert _on_free_ports(expected, env) in output, f"$ {code}\n{output}"
