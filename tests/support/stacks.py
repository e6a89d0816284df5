"""What system-tier tests share besides fixtures: the app settings every test stack gets, the type
of the stack factory, unique names."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from stack import core
from stack.config import StackConfig
from stack.state import State
from tests.support.auth import ADMIN_TOKEN

# The admin token, and the app's own write limits out of reach: tests about something else
# write a lot (the limits have their own tests and stacks).
TEST_APP_SETTINGS = {
    "ADMIN_TOKEN": ADMIN_TOKEN,
    "RATELIMIT_CREATE": "100000/minute",
    "RATELIMIT_DELETE": "100000/minute",
}

# make_stack(**overrides) -> State: a started local stack (tests/system/conftest.py)
StackFactory = Callable[..., State]


def unique(prefix: str) -> str:
    """A name no other test (or earlier run) uses, e.g. a link code."""
    return f"{prefix}{uuid.uuid4().hex[:10]}"


@contextmanager
def running_stack(
    state_dir: Path, database_url: str, redis_url: str, **overrides: Any
) -> Iterator[State]:
    """A local stack with the tests' defaults (3 instances of 2 workers on free ports, no read
    limit, the test app settings plus `app_env` overrides), stopped on the way out whatever
    happened."""
    # nginx's read limit off: tests about something else read fast from one address (the limits
    # have their own tests and stacks)
    settings: dict[str, Any] = {
        "instances": 3,
        "port": 0,
        "https_port": 0,
        "workers": 2,
        "read_rate": "off",
        "tls_dir": state_dir / "tls",
        **overrides,
    }
    settings["app_env"] = {**TEST_APP_SETTINGS, **overrides.get("app_env", {})}
    config = StackConfig(
        state_dir=state_dir, database_url=database_url, redis_url=redis_url, **settings
    )
    try:
        yield core.up(config)
    finally:
        core.down(state_dir)
