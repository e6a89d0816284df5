"""Plain SQL against the test databases, through the app's own driver (psycopg2).

`connect` is a context manager that closes the connection at the end (psycopg2's own `with`
only ends the transaction), commits on success and rolls back on an exception; `execute`
returns the cursor, so a test reads `connection.execute(sql).fetchone()`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg2
import psycopg2.extensions

Error = psycopg2.Error


class Connection:
    def __init__(self, raw: psycopg2.extensions.connection) -> None:
        self.raw = raw

    def execute(self, sql: str, params: Any = None) -> psycopg2.extensions.cursor:
        cursor = self.raw.cursor()
        cursor.execute(sql, params)
        return cursor


@contextmanager
def connect(url: str, *, autocommit: bool = False, **options: Any) -> Iterator[Connection]:
    raw = psycopg2.connect(url, **options)
    try:
        raw.autocommit = autocommit
        yield Connection(raw)
        if not autocommit:
            raw.commit()
    except BaseException:
        if not raw.closed and not autocommit:
            raw.rollback()
        raise
    finally:
        raw.close()
