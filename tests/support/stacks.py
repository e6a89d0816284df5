"""What stack-tier tests share besides fixtures: the app settings every test stack gets, the type
of the stack factory, unique names."""

from __future__ import annotations

import uuid
from collections.abc import Callable

from stack.state import State
from tests.support.auth import ADMIN_TOKEN

# The admin token, and the app's own write limits out of reach: tests about something else
# write a lot (the limits have their own tests and stacks).
APP_ENV = {
    "ADMIN_TOKEN": ADMIN_TOKEN,
    "RATELIMIT_CREATE": "100000/minute",
    "RATELIMIT_DELETE": "100000/minute",
}

# make_stack(**overrides) -> State: a started local stack (tests/stack/conftest.py)
StackFactory = Callable[..., State]


def unique(prefix: str) -> str:
    """A name no other test (or earlier run) uses, e.g. a link code."""
    return f"{prefix}{uuid.uuid4().hex[:10]}"
