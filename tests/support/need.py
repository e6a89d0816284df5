"""What a test needs from the machine, in one place.

Locally a missing service or tool skips the test with the reason; with CI=true it fails, because
CI must prove every tier (a green run that skipped the real parts would prove nothing).
"""

from __future__ import annotations

import os

import pytest

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def need(ok: bool, why: str) -> None:
    """Skip (locally) or fail (in CI) unless `ok`."""
    if ok:
        return
    if IN_CI:
        pytest.fail(f"CI=true and {why}", pytrace=False)
    pytest.skip(why)
