"""Test tiers follow the folders (tests/<tier>/... gets the <tier> marker); a parallel run deals
test groups out in lanes (tests/support/lanes.py); every run ends with a table of where its time
went (tests/support/timing.py)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

from tests.support.lanes import LaneScheduling
from tests.support.timing import PHASES_ENV, TimingReport

TIERS = ("unit", "integration", "system", "infra")
TESTS_DIR = Path(__file__).parent


def pytest_configure(config: pytest.Config) -> None:
    if hasattr(config, "workerinput"):
        return  # a parallel worker: the controlling process reports for the whole run
    phases = Path(tempfile.mkdtemp(prefix="flask-mt-phases-")) / "phases.jsonl"
    os.environ[PHASES_ENV] = str(phases)  # inherited by the workers, started after this hook
    config.pluginmanager.register(TimingReport(phases), "timing-report")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        tier = Path(item.path).relative_to(TESTS_DIR).parts[0]
        if tier in TIERS:
            item.add_marker(getattr(pytest.mark, tier))


@pytest.hookimpl(tryfirst=True)  # before xdist picks its own scheduler
def pytest_xdist_make_scheduler(config: pytest.Config, log) -> LaneScheduling | None:  # type: ignore[no-untyped-def]
    if config.getvalue("dist") == "loadgroup":
        return LaneScheduling(config, log)
    return None
