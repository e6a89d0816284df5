"""The tutorial's commands, run as a reader would type them, so the docs cannot rot.

Each runnable section runs in a fresh copy of the working tree (sharing .venv), on free ports
(the tutorial's 5000 and 8080 are rewritten), against a throwaway PostgreSQL database.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.support.apt import ensure_debian_packages
from tests.support.ports import free_port
from tests.support.services import STACK_REDIS_URL, scratch_database
from tests.support.tutorial import Block, Section, runnable_sections

ROOT = Path(__file__).resolve().parents[3]
TUTORIAL = ROOT / "docs" / "tutorial.md"
SECTIONS = runnable_sections(TUTORIAL)


def test_the_tutorial_has_runnable_steps() -> None:
    titles = [section.title for section in SECTIONS]
    assert titles == ["1. Run it locally", "2. All four layers on one machine"]


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """The working tree as a reader's clone would have it (tracked and new files), plus .venv."""
    listed = (
        subprocess.run(
            ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
            cwd=ROOT,
            capture_output=True,
            check=True,
        )
        .stdout.decode()
        .split("\0")
    )
    copy = tmp_path / "repo"
    for name in filter(None, listed):
        source = ROOT / name
        if source.is_file():
            (copy / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, copy / name)  # keeps mtimes: make sees .venv as up to date
    (copy / ".venv").symlink_to(ROOT / ".venv")
    return copy


@pytest.fixture
def reader_env(tmp_path: Path) -> Iterator[dict[str, str]]:
    with scratch_database("fm_docs") as database_url:
        yield {
            **os.environ,
            "PORT": str(free_port()),
            "STACK_PORT": str(free_port()),
            "DATABASE_URL": database_url,
            "REDIS_URL": STACK_REDIS_URL,
        }


def _on_free_ports(code: str, env: dict[str, str]) -> str:
    for port, variable in (("5000", "PORT"), ("8080", "STACK_PORT")):
        code = code.replace(f"localhost:{port}", f"localhost:{env[variable]}")
        code = code.replace(f"127.0.0.1:{port}", f"127.0.0.1:{env[variable]}")
    return code


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


@pytest.mark.parametrize("section", SECTIONS, ids=[s.title for s in SECTIONS])
def test_tutorial_section_runs_as_written(
    section: Section, workdir: Path, reader_env: dict[str, str]
) -> None:
    ensure_debian_packages("curl", "nginx")
    env = dict(reader_env)
    if section.title.startswith("1."):
        # Step 1 promises "no services needed": no database or cache in the environment.
        for name in ("DATABASE_URL", "REDIS_URL"):
            env.pop(name)
    background: list[subprocess.Popen[str]] = []
    try:
        for block in section.blocks:
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
