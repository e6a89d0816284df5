"""Where a run's time goes: phase times recorded by the slow tests, and at the end of every run a
table per tier (tests, summed duration, wall-clock span) with the slowest tests and the phases.

Workers of a parallel run record phases into one file named by FLASK_MT_PHASES_FILE (set by the
controlling process before the workers start); figures are printed, never asserted.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

PHASES_ENV = "FLASK_MT_PHASES_FILE"
SLOWEST = 15


def record_phase(label: str, seconds: float) -> None:
    """Record how long one phase of a test took (e.g. "layered: site.yml on 5 fresh hosts")."""
    path = os.environ.get(PHASES_ENV)
    if not path:
        return
    # one short line per write with O_APPEND: lines from parallel workers never interleave
    with open(path, "a") as sink:
        sink.write(json.dumps({"label": label, "seconds": round(seconds, 1)}) + "\n")


@contextlib.contextmanager
def phase(label: str) -> Iterator[None]:
    """Time the block and record it as a phase (also when it fails: slow failures matter too)."""
    start = time.monotonic()
    try:
        yield
    finally:
        record_phase(label, time.monotonic() - start)


def tier_of(nodeid: str) -> str:
    """tests/infra/ansible/test_x.py::t -> "infra/ansible"; tests/unit/... -> "unit"."""
    parts = nodeid.split("::")[0].split("/")
    tier = parts[1] if len(parts) > 2 else "other"
    return f"infra/{parts[2]}" if tier == "infra" and len(parts) > 3 else tier


@dataclass
class _Test:
    seconds: float = 0.0
    start: float = float("inf")
    stop: float = 0.0


class TimingReport:
    """A pytest plugin for the controlling process: it sees every test's reports, workers' too."""

    def __init__(self, phases_file: Path) -> None:
        self.phases_file = phases_file
        self.tests: dict[str, _Test] = defaultdict(_Test)
        self.started = time.time()

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        test = self.tests[report.nodeid]
        test.seconds += report.duration
        if report.start:
            test.start = min(test.start, report.start)
            test.stop = max(test.stop, report.stop)

    def pytest_terminal_summary(self, terminalreporter) -> None:  # type: ignore[no-untyped-def]
        if not self.tests:
            return
        write = terminalreporter.write_line
        terminalreporter.section("where the time went")
        tiers: dict[str, list[_Test]] = defaultdict(list)
        for nodeid, test in self.tests.items():
            tiers[tier_of(nodeid)].append(test)
        write(f"{'tier':<18} {'tests':>5} {'summed':>9} {'wall span':>10}")
        for tier, tests in sorted(tiers.items(), key=lambda kv: -sum(t.seconds for t in kv[1])):
            summed = sum(t.seconds for t in tests)
            span = max(t.stop for t in tests) - min(t.start for t in tests)
            write(f"{tier:<18} {len(tests):>5} {_minutes(summed):>9} {_minutes(span):>10}")
        total = sum(t.seconds for t in self.tests.values())
        write(f"{'all':<18} {len(self.tests):>5} {_minutes(total):>9} "
              f"{_minutes(time.time() - self.started):>10}")  # fmt: skip
        write("")
        write(f"slowest {SLOWEST} tests (setup + call + teardown):")
        slowest = sorted(self.tests.items(), key=lambda kv: -kv[1].seconds)[:SLOWEST]
        for nodeid, test in slowest:
            write(f"  {test.seconds:7.1f} s  {nodeid}")
        phases = self._phases()
        if phases:
            write("")
            write("phases recorded by the tests:")
            for entry in phases:
                write(f"  {entry['seconds']:7.1f} s  {entry['label']}")

    def _phases(self) -> list[dict]:
        if not self.phases_file.exists():
            return []
        return [json.loads(line) for line in self.phases_file.read_text().splitlines() if line]


def _minutes(seconds: float) -> str:
    return f"{int(seconds // 60)}m{int(seconds % 60):02d}s"
