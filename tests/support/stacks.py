"""What stack-tier tests share besides fixtures: the type of the stack factory, unique names."""

from __future__ import annotations

import uuid
from collections.abc import Callable

from stack.state import State

# make_stack(**overrides) -> State: a started local stack (tests/stack/conftest.py)
StackFactory = Callable[..., State]


def unique(prefix: str) -> str:
    """A name no other test (or earlier run) uses, e.g. a link code."""
    return f"{prefix}{uuid.uuid4().hex[:10]}"
