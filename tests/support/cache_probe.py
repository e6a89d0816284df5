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
    command with the in-process cache); read the counts after the block. The fills that earlier
    requests queued are sent first: what the block counts is its own requests' work."""
    wait_for_fills(app)
    service = app.extensions["links"]
    seen = {"sql": 0, "redis": 0}
    cache = service.cache
    client = getattr(cache, "redis", None)  # None: the in-process cache
    # The redirect's GET and the fills go through the cache's own _commands, the rest through
    # the client.
    if client:
        client.execute_command = _counted(client.execute_command, seen, lambda _args: 1)
        cache._commands = _counted(cache._commands, seen, len)
    counted = [(client, "execute_command"), (cache, "_commands")] if client else []
    # At the driver: the app's one-statement reads skip SQLAlchemy's cursor events.
    with counting_statements(service.db.engines()) as statements:
        try:
            yield seen
        finally:
            seen["sql"] = sum(statements.values())
            for owner, name in counted:
                delattr(owner, name)  # the class's method again


def _counted(
    send: Callable[..., Any], seen: dict[str, int], commands: Callable[[tuple[Any, ...]], int]
) -> Callable[..., Any]:
    def counted(*args: Any, **kwargs: Any) -> Any:
        seen["redis"] += commands(args)
        return send(*args, **kwargs)

    return counted


def wait_for_fills(*apps: Flask, timeout: float = 10) -> None:
    """Until every fill the apps' misses queued has been sent (app/cache_fills.py)."""
    for app in apps:
        fills = getattr(app.extensions["links"].cache, "_fills", None)
        assert fills is None or fills.wait_idle(timeout), "the fills were not sent in time"


def wait_for_memory(*apps: Flask, timeout: float = 10) -> None:
    """Until level 1 may answer in every app (its invalidation channel has proved itself)."""
    caches = [app.extensions["links"].cache for app in apps]
    deadline = time.monotonic() + timeout
    while not all(cache.serves_from_memory() for cache in caches):
        assert time.monotonic() < deadline, "level 1 never became trusted"
        time.sleep(0.01)
