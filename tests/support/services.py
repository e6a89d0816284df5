"""Throwaway databases and Redis key spaces on the machine's real services, for one test session."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit, urlunsplit

import redis

from tests.support import pg

ADMIN_DATABASE_URL = os.environ.get(
    "TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
# One Redis database per tier, each overridable so that several test runs can share one server.
INTEGRATION_REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
SYSTEM_REDIS_URL = os.environ.get("TEST_SYSTEM_REDIS_URL", "redis://127.0.0.1:6379/14")
# The benchmark's Redis database (bench/__main__.py BENCH_REDIS_DB): no test worker takes it.
_BENCH_REDIS_DB = 13


def _db_number(url: str) -> int:
    return int(urlsplit(url).path.strip("/") or 0)


def integration_redis_url(worker: str | None = None) -> str:
    """This test process's integration database: TEST_REDIS_URL's for the first (or only) xdist
    worker, the next free number below it for each other one. The integration tier runs in
    several lanes at once and every test flushes its database, so no two workers may share one.
    """
    worker = worker or os.environ.get("PYTEST_XDIST_WORKER") or "gw0"
    index = int(worker.removeprefix("gw"))
    taken = {_db_number(SYSTEM_REDIS_URL), _BENCH_REDIS_DB}
    first = _db_number(INTEGRATION_REDIS_URL)
    free = [first] + [n for n in range(first - 1, -1, -1) if n not in taken]
    if index >= len(free):
        raise ValueError(f"no free Redis database below {first} for xdist worker {worker}")
    return urlunsplit(urlsplit(INTEGRATION_REDIS_URL)._replace(path=f"/{free[index]}"))


def postgres_reachable(url: str = ADMIN_DATABASE_URL) -> bool:
    try:
        with pg.connect(url, connect_timeout=3):
            return True
    except pg.Error:
        return False


def redis_reachable(url: str) -> bool:
    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=2).ping())
    except redis.RedisError:
        return False


def _with_database(url: str, name: str) -> str:
    base, _, _ = url.rpartition("/")
    return f"{base}/{name}"


@contextmanager
def scratch_database(prefix: str = "fm_test") -> Iterator[str]:
    """A new, empty PostgreSQL database; dropped afterwards whatever happened."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    with pg.connect(ADMIN_DATABASE_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield _with_database(ADMIN_DATABASE_URL, name)
    finally:
        with pg.connect(ADMIN_DATABASE_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def clicks_in_db(database_url: str, code: str) -> int:
    """The click count PostgreSQL holds for `code` (what survives the app's processes)."""
    with pg.connect(database_url) as connection:
        row = connection.execute("SELECT clicks FROM links WHERE code = %s", (code,)).fetchone()
    assert row is not None, f"no link {code} in the database"
    return row[0]
