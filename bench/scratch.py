"""The benchmarks' own PostgreSQL database (created, then dropped) and its preloaded links."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit, urlunsplit

import psycopg2

DEFAULT_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/test"


def with_path(url: str, path: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, path, "", ""))


def admin_execute(admin_url: str, statement: str) -> None:
    """One statement outside a transaction (CREATE/DROP DATABASE refuse to run inside one)."""
    admin = psycopg2.connect(admin_url)
    admin.autocommit = True
    try:
        with admin.cursor() as cursor:
            cursor.execute(statement)
    finally:
        admin.close()


@contextmanager
def scratch_database(admin_url: str) -> Iterator[str]:
    """A new empty database on `admin_url`'s server, its URL yielded, dropped afterwards."""
    name = f"bench_{uuid.uuid4().hex[:10]}"
    admin_execute(admin_url, f'CREATE DATABASE "{name}"')
    try:
        yield with_path(admin_url, f"/{name}")
    finally:
        admin_execute(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def preload(database_url: str, have: int, upto: int) -> None:
    """Links u0000001.. from have+1 up to `upto`, inserted by SQL; created_at rises with n."""
    if upto <= have:
        return
    connection = psycopg2.connect(database_url)
    try:
        connection.autocommit = True  # VACUUM cannot run in a transaction
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO links (code, url, clicks, created_at) "
                "SELECT 'u' || lpad(g::text, 7, '0'), 'https://example.com/page/' || g, 0, "
                "now() - interval '1 day' + g * interval '1 millisecond' "
                "FROM generate_series(%s, %s) AS g",
                (have + 1, upto),
            )
            # What autovacuum would do soon after such a load: fresh statistics and a visibility
            # map, so the plans are the ones a settled table of this size gets.
            cursor.execute("VACUUM ANALYZE links")
            # The load's dirty pages written now, not by a checkpoint in the middle of the
            # measurements that follow (it made reads at the large size look slower than they are).
            cursor.execute("CHECKPOINT")
    finally:
        connection.close()
