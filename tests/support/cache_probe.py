"""Looking inside an app object's cache from a test: its round trips, and when memory answers."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from flask import Flask

from bench.statements import counting_statements


@contextmanager
def counting(app: Flask) -> Iterator[dict[str, int]]:
    """Counts SQL statements and Redis commands the app sends while the block runs (no Redis
    command with the in-process cache); read the counts after the block."""
    service = app.extensions["links"]
    seen = {"sql": 0, "redis": 0}
    cache = service.cache
    client = getattr(cache, "redis", None)  # None: the in-process cache
    # The redirect's commands go through the cache's own _command, the rest through the client.
    counted = [(client, "execute_command"), (cache, "_command")] if client else []
    for owner, name in counted:
        setattr(owner, name, _counted(getattr(owner, name), seen))
    # At the driver: the app's one-statement reads skip SQLAlchemy's cursor events.
    with counting_statements(service.db.engines()) as statements:
        try:
            yield seen
        finally:
            seen["sql"] = sum(statements.values())
            for owner, name in counted:
                delattr(owner, name)  # the class's method again


def _counted(send: Callable[..., Any], seen: dict[str, int]) -> Callable[..., Any]:
    def counted(*args: Any, **kwargs: Any) -> Any:
        seen["redis"] += 1
        return send(*args, **kwargs)

    return counted


def wait_for_memory(*apps: Flask, timeout: float = 10) -> None:
    """Until level 1 may answer in every app (its invalidation channel has proved itself)."""
    caches = [app.extensions["links"].cache for app in apps]
    deadline = time.monotonic() + timeout
    while not all(cache.serves_from_memory() for cache in caches):
        assert time.monotonic() < deadline, "level 1 never became trusted"
        time.sleep(0.01)
