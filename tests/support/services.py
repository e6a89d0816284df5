"""Throwaway databases and Redis key spaces on the machine's real services, for one test session."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import redis

from tests.support import pg

ADMIN_DATABASE_URL = os.environ.get(
    "TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
# One Redis database per tier, each overridable so that several test runs can share one server.
INTEGRATION_REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
SYSTEM_REDIS_URL = os.environ.get("TEST_SYSTEM_REDIS_URL", "redis://127.0.0.1:6379/14")


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
