"""Subprocesses for tests: run one and fail with its output, stop one without hanging."""

from __future__ import annotations

import contextlib
import os
import shlex
import signal
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from tests.support.paths import REPO


class CommandFailed(AssertionError):
    """A command a test relied on exited non-zero; the message carries its output."""


def run(
    argv: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path = REPO,
    timeout: float = 600,
    check: bool = True,
    input: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run a command with its output captured; with `check`, a failure raises with that output,
    which is what a person needs to debug a red test."""
    process = subprocess.Popen(
        list(argv),
        env=dict(env) if env is not None else None,
        cwd=cwd,
        stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    stdout, stderr = communicate_or_kill_session(process, timeout, input)
    result = subprocess.CompletedProcess(list(argv), process.returncode, stdout, stderr)
    if check and result.returncode != 0:
        raise CommandFailed(
            f"{shlex.join(argv)} exited {result.returncode}\n"
            f"--- stdout\n{result.stdout[-4000:]}\n--- stderr\n{result.stderr[-4000:]}"
        )
    return result


def run_python(
    args: Sequence[str], env: Mapping[str, str], timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """`python ARGS` from the repository root with only PATH and `env` set (what a person with
    a bare environment sees); never raises on a failure, which is what such a test looks at."""
    return run([sys.executable, *args], env={"PATH": os.environ["PATH"], **env}, timeout=timeout,
               check=False)  # fmt: skip


def stop(process: subprocess.Popen, timeout: float = 10) -> None:
    """SIGTERM, then SIGKILL if the process is still there after `timeout` seconds."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def communicate_or_kill_session(
    process: subprocess.Popen, timeout: float, input: str | None = None
) -> tuple[str, str]:
    """communicate() with a process started with start_new_session=True. When it outlives
    `timeout` (or the test run is interrupted), its whole session is killed, not just the
    process: a command's own children (the provisioner under `vagrant up`, ansible-playbook
    under make) would otherwise run on as orphans after the test has ended."""
    try:
        return process.communicate(input, timeout=timeout)
    except BaseException:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        raise
