"""The test harness's own subprocess helper: a command that outlives its timeout takes its
children with it."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest

from tests.support import procs


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split()[2]
    except FileNotFoundError:
        return False
    return state != "Z"


def test_a_timed_out_command_leaves_no_child_running(tmp_path: Path) -> None:
    child = tmp_path / "child.pid"
    script = f"sleep 300 & echo $! > {child}; wait"
    with pytest.raises(subprocess.TimeoutExpired):
        procs.run(["bash", "-c", script], timeout=2)
    pid = int(child.read_text())
    deadline = time.monotonic() + 5
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(pid), "the command's child outlived the timeout"


def test_a_command_in_time_gives_its_output_and_status() -> None:
    result = procs.run(["bash", "-c", "read line; echo out $line; echo err >&2; exit 3"],
                       input="in\n", check=False)  # fmt: skip
    assert (result.returncode, result.stdout, result.stderr) == (3, "out in\n", "err\n")
