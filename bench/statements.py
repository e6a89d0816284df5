"""Counting the SQL statements an app sends, at the driver (psycopg2).

At the driver rather than with SQLAlchemy's cursor events, because the app sends its one-statement
reads and writes on pooled driver connections directly (app/db.py): a cursor class that counts is
set on each connection while it is checked out, so every statement is seen, whoever sends it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import psycopg2.extensions
from sqlalchemy import event
from sqlalchemy.engine import Engine


@contextmanager
def counting_statements(engines: Iterable[Engine]) -> Iterator[Counter[str]]:
    """The statements sent on `engines`' PostgreSQL connections while the block runs, counted
    by first word (a string of several statements counts once, by its first)."""
    seen: Counter[str] = Counter()

    class CountingCursor(psycopg2.extensions.cursor):
        def execute(self, query: Any, vars: Any = None) -> None:
            text = query.decode() if isinstance(query, bytes) else str(query)
            seen[text.split(None, 1)[0].upper()] += 1
            super().execute(query, vars)

    def count(dbapi_connection: Any, *_args: Any) -> None:
        dbapi_connection.cursor_factory = CountingCursor

    def stop_counting(dbapi_connection: Any, *_args: Any) -> None:
        dbapi_connection.cursor_factory = psycopg2.extensions.cursor

    engines = list(engines)
    for engine in engines:
        event.listen(engine, "checkout", count)
        event.listen(engine, "checkin", stop_counting)
    try:
        yield seen
    finally:
        for engine in engines:
            event.remove(engine, "checkout", count)
            event.remove(engine, "checkin", stop_counting)
