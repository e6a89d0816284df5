"""An app server (gunicorn, run.py) started by a test: wait until it answers, stop it after."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import requests

from tests.support.procs import stop


def wait_until_up(
    url: str, process: subprocess.Popen[bytes] | subprocess.Popen[str], timeout: float = 90
) -> None:
    """Until `url` answers 200; fails as soon as the process exits."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"server exited with {process.returncode}")
        try:
            if requests.get(url, timeout=2).status_code == 200:
                return
        except requests.RequestException:  # not listening yet, or too busy to answer
            time.sleep(0.2)
    raise AssertionError(f"{url} did not come up")


@contextmanager
def serving(
    argv: Sequence[str], *, cwd: Path, env: dict[str, str], log_path: Path, ready_url: str
) -> Iterator[subprocess.Popen[bytes]]:
    """The server `argv` (output to `log_path`), once `ready_url` answers; stopped afterwards."""
    with log_path.open("w") as log:
        process = subprocess.Popen(argv, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        try:
            wait_until_up(ready_url, process)
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n{log_path.read_text()[-3000:]}") from None
        yield process
    finally:
        stop(process, timeout=30)
