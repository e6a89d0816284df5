"""The DB layer's plumbing: one engine per process, one session per request."""

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
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    def session(self) -> Session:
        return self._sessions()

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        with self._sessions.begin() as session:
            yield session

    def read_one(self, statement: Executable, **params: Any) -> Any:
        """First column of the first row of a read-only statement: the redirect's lookup.

        Runs outside any transaction (AUTOCOMMIT: no BEGIN/ROLLBACK round trips), and once more
        on a fresh connection if the pooled one turned out to be dead (the database restarted):
        reads are safe to repeat.
        """
        for attempt in (1, 2):
            try:
                with self.engine.connect() as connection:
                    autocommit = connection.execution_options(isolation_level="AUTOCOMMIT")
                    return autocommit.execute(statement, params).scalar()
            except DBAPIError as exc:
                if attempt == 2 or not exc.connection_invalidated:
                    raise
        raise AssertionError("unreachable")

    def ping(self) -> None:
        self.read_one(text("SELECT 1"))

    def close(self) -> None:
        """Close the pooled connections (a later use would open new ones)."""
        self.engine.dispose()


def _make_engine(settings: Settings) -> Engine:
    if settings.is_sqlite:
        INSTANCE_DIR.mkdir(parents=True, exist_ok=True)
        engine = create_engine(settings.DATABASE_URL, connect_args={"timeout": 5})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(
        settings.DATABASE_URL,
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
