"""The test harness's own helpers: a command that outlives its timeout takes its children with
it; parallel lanes never share a Redis database."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest

from tests.support import procs
from tests.support.lanes import group_of
from tests.support.services import (
    INTEGRATION_REDIS_URL,
    SYSTEM_REDIS_URL,
    integration_redis_url,
)


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


def test_each_integration_worker_has_a_redis_database_of_its_own() -> None:
    urls = [integration_redis_url(f"gw{index}") for index in range(4)]
    assert len(set(urls)) == 4
    assert urls[0] == INTEGRATION_REDIS_URL  # TEST_REDIS_URL's own, for a run without workers
    # neither the stack tier's database nor the benchmark's is handed to an integration worker
    assert SYSTEM_REDIS_URL not in urls
    assert not any(url.endswith("/13") for url in urls)


def test_the_integration_tier_is_one_group_but_for_its_longest_modules() -> None:
    assert group_of("tests/integration/test_api.py::test_x") == "integration"
    assert group_of("tests/integration/test_wheel.py::test_x") == "integration/test_wheel"
    assert group_of("tests/unit/test_bench.py::test_x") == "unit"
    assert group_of("tests/infra/docker/test_docker_images.py::t") == "infra/docker"
