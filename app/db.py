"""The DB layer's plumbing: one engine per process, one session per request."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Engine
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

    def ping(self) -> None:
        with self.engine.connect() as connection:
            connection.execute(text("SELECT 1"))

    def pool_checked_out(self) -> int:
        checkedout = getattr(self.engine.pool, "checkedout", None)
        return checkedout() if checkedout else 0


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
        pool_pre_ping=True,  # connections dead after a PostgreSQL restart are replaced, not reused
        pool_recycle=1800,
        connect_args={
            "connect_timeout": 3,  # an unreachable server fails fast -> 503 with Retry-After
            "application_name": "flask-multitier",
            "options": "-c statement_timeout=5000",
        },
    )


def _sqlite_pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")  # readers don't block the writer in dev
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()
