"""Test tiers follow the folders: tests/<tier>/... gets the <tier> marker automatically."""

from __future__ import annotations

from pathlib import Path

import pytest

TIERS = ("unit", "integration", "stack", "infra")
TESTS_DIR = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        tier = Path(item.path).relative_to(TESTS_DIR).parts[0]
        if tier in TIERS:
            item.add_marker(getattr(pytest.mark, tier))
