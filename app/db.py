"""The DB layer's plumbing: one engine per process for transactions, and a second one, in
autocommit, for what goes in one round trip: reads of one statement each (the redirect's lookup,
the pages' and the API's reads) and the create's statement string (PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Executable, create_engine, event, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

from app.config import INSTANCE_DIR, Settings


class Base(DeclarativeBase):
    pass


class Database:
    """Owns the engine and hands out sessions; created once per process by the app factory."""

    def __init__(self, settings: Settings) -> None:
        self.engine = _make_engine(settings)
        # Its own pool, whose connections are in autocommit from the start. Switching a pooled
        # connection to AUTOCOMMIT per read (execution_options on a connection) costs psycopg2 a
        # round trip to set it back when the connection returns to the pool; a read alone needs
        # no transaction at all, so no BEGIN/ROLLBACK either.
        self.autocommit = (
            self.engine if settings.is_sqlite else _make_engine(settings, autocommit=True)
        )
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._reads = sessionmaker(self.autocommit, expire_on_commit=False)

    def read_session(self) -> Session:
        """A session for reads of one statement each: no BEGIN/ROLLBACK around them (PostgreSQL).

        Each statement sees the database as of its own start, as under READ COMMITTED anyway;
        only reads that must agree with each other need transaction() instead.
        """
        return self._reads()

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        with self._sessions.begin() as session:
            yield session

    def read_one(self, statement: Executable, **params: Any) -> Any:
        """First column of the first row of a read-only statement: the redirect's lookup.

        One round trip on the autocommit engine (no BEGIN/ROLLBACK), and once more on a fresh
        connection if the pooled one turned out to be dead (the database restarted): reads are
        safe to repeat.
        """
        for attempt in (1, 2):
            try:
                with self.autocommit.connect() as connection:
                    return connection.execute(statement, params).scalar()
            except DBAPIError as exc:
                if attempt == 2 or not exc.connection_invalidated:
                    raise
        raise AssertionError("unreachable")

    @property
    def runs_statement_lists(self) -> bool:
        """Whether write_once may send several statements (PostgreSQL: one transaction)."""
        return self.autocommit is not self.engine

    def write_once(self, statements: Executable, **params: Any) -> Any:
        """The last row of `statements` (None when it has none), sent in one round trip.

        On the autocommit engine, so no BEGIN/COMMIT of the driver's own: PostgreSQL runs the
        statements of one query string as one transaction, and any error rolls all back. Not
        repeated when the connection turns out dead (a write may not be safe to repeat): the
        error goes to the caller (503).
        """
        with self.autocommit.connect() as connection:
            return connection.execute(statements, params).first()

    def engines(self) -> list[Engine]:
        """Every engine, each once: for pool metrics and statement logs."""
        return [self.engine] if self.autocommit is self.engine else [self.engine, self.autocommit]

    def ping(self) -> None:
        self.read_one(text("SELECT 1"))

    def close(self) -> None:
        """Close the pooled connections of both engines (a later use would open new ones)."""
        for engine in self.engines():
            engine.dispose()


def _make_engine(settings: Settings, autocommit: bool = False) -> Engine:
    if settings.is_sqlite:
        INSTANCE_DIR.mkdir(parents=True, exist_ok=True)
        engine = create_engine(settings.DATABASE_URL, connect_args={"timeout": 5})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(
        settings.DATABASE_URL,
        # Set once per new connection; psycopg2's autocommit is a client-side flag.
        isolation_level="AUTOCOMMIT" if autocommit else None,
        # The click flush updates every code clicked since the last one: sent 100 UPDATEs per
        # round trip (psycopg2's execute_batch), not one round trip per code.
        executemany_mode="values_plus_batch",
        pool_size=settings.DB_POOL_SIZE,
        max_overflow=settings.DB_POOL_SIZE,
        pool_timeout=3,  # a saturated pool answers 503 quickly instead of queueing forever
        # No pool_pre_ping: it costs a round trip per checkout. A connection found dead (after a
        # PostgreSQL restart) invalidates the whole pool, so only the first use fails; reads
        # retry it (read_one), writes answer 503 once with Retry-After.
        pool_recycle=1800,
        connect_args={
            "connect_timeout": 3,  # an unreachable server fails fast -> 503 with Retry-After
            "application_name": "flask-multitier",
            "options": "-c statement_timeout=5000",
        },
    )


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")  # readers don't block the writer in dev
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()
