"""The DB layer's plumbing: one engine per process for transactions, and a second one, in
autocommit, for what goes in one round trip: reads of one statement each (the redirect's lookup,
the pages' and the API's reads) and the create's statement string (PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Select, TextClause, create_engine, event, text
from sqlalchemy.dialects.postgresql.psycopg2 import PGDialect_psycopg2
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

from app.config import INSTANCE_DIR, Settings

# What the one-round-trip helpers send: a Core select or a statement string.
Statement = Select[Any] | TextClause
PING = text("SELECT 1")


class Base(DeclarativeBase):
    pass


class Database:
    """Owns the engine and hands out sessions; created once per process by the app factory."""

    def __init__(
        self, settings: Settings, prepared: Mapping[str, Select[Any]] | None = None
    ) -> None:
        """`prepared`: reads PostgreSQL plans once per connection and then runs by name (see
        _prepare_on_connect); ignored on SQLite."""
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
        self._sql: dict[Statement, str] = {}  # statement -> its text for the driver
        if self.runs_statement_lists and prepared:
            self._prepare_on_connect(prepared)

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

    def read_one(self, statement: Statement, **params: Any) -> Any:
        """First column of the first row of a read-only statement: the redirect's lookup.

        One round trip on the autocommit engine (no BEGIN/ROLLBACK), and once more on a fresh
        connection if the pooled one turned out to be dead (the database restarted): reads are
        safe to repeat.
        """
        for attempt in (1, 2):
            try:
                row = self._first_row(statement, params)
            except DBAPIError as exc:
                if attempt == 2 or not exc.connection_invalidated:
                    raise
            else:
                return None if row is None else row[0]
        raise AssertionError("unreachable")

    @property
    def runs_statement_lists(self) -> bool:
        """Whether write_once may send several statements (PostgreSQL: one transaction)."""
        return self.autocommit is not self.engine

    def write_once(self, statements: Statement, **params: Any) -> tuple[Any, ...] | None:
        """The first row of `statements`' last result (None when it has none), sent in one
        round trip.

        On the autocommit engine, so no BEGIN/COMMIT of the driver's own: PostgreSQL runs the
        statements of one query string as one transaction, and any error rolls all back. Not
        repeated when the connection turns out dead (a write may not be safe to repeat): the
        error goes to the caller (503).
        """
        return self._first_row(statements, params)

    def _first_row(self, statement: Statement, params: dict[str, Any]) -> tuple[Any, ...] | None:
        """`statement`'s first row, sent on a pooled driver connection of the autocommit engine.

        Why not Connection.execute: for one statement, SQLAlchemy's Connection and Result
        (autobegin, execution context, result metadata) cost about three times the driver's own
        work (measured: ~180 µs against ~60 µs of CPU per lookup), and the redirect's miss and
        the create are each one statement. The statement stays a SQLAlchemy construct, compiled
        once for the driver; errors come out as SQLAlchemy's, as from a Connection.
        """
        if not self.runs_statement_lists:  # SQLite in development: its dialect converts types
            with self.autocommit.connect() as sqlite:
                row = sqlite.execute(statement, params).first()
                return None if row is None else tuple(row)
        sql = self._compiled(statement)
        dialect = self.autocommit.dialect
        connection = None
        try:
            connection = self.autocommit.raw_connection()  # may open one: that can fail too
            cursor = connection.cursor()
            try:
                cursor.execute(sql, params)
                return cursor.fetchone() if cursor.description else None
            finally:
                cursor.close()
        except dialect.loaded_dbapi.Error as exc:
            dead = False
            if connection is not None and dialect.is_disconnect(
                exc, connection.dbapi_connection, None
            ):
                # The server restarted: every pooled connection is as dead as this one.
                dead = True
                connection.invalidate(exc)
                self.autocommit.dispose()
            raise DBAPIError.instance(
                sql, params, exc, dialect.loaded_dbapi.Error, connection_invalidated=dead
            ) from exc
        finally:
            if connection is not None:
                connection.close()

    def _prepare_on_connect(self, prepared: Mapping[str, Select[Any]]) -> None:
        """PREPARE each of `prepared` on every new connection of the autocommit engine; the
        statement is then sent as EXECUTE name(...). For an indexed lookup, parsing and planning
        cost PostgreSQL about as much as the lookup itself (measured: ~60 against ~30 µs of its
        CPU per call). Done at connect, before any use, so every pooled connection has them."""
        # $1, $2...: PREPARE's parameter style. SQLAlchemy's dialect classes are untyped.
        numbered = PGDialect_psycopg2(paramstyle="numeric_dollar")  # type: ignore[no-untyped-call]
        setup = []
        for name, statement in prepared.items():
            positional = statement.compile(dialect=numbered)
            arguments = ", ".join(f"%({param})s" for param in positional.positiontup or ())
            setup.append(f"PREPARE {name} AS {positional}")
            self._sql[statement] = f"EXECUTE {name}({arguments})"

        def prepare(dbapi_connection: Any, _record: Any) -> None:
            with dbapi_connection.cursor() as cursor:
                for sql in setup:
                    cursor.execute(sql)

        event.listen(self.autocommit, "connect", prepare)

    def _compiled(self, statement: Statement) -> str:
        """The driver's text of `statement`, compiled on first use and kept (the statements are
        module constants: a handful per process)."""
        sql = self._sql.get(statement)
        if sql is None:
            sql = self._sql[statement] = str(statement.compile(dialect=self.autocommit.dialect))
        return sql

    def engines(self) -> list[Engine]:
        """Every engine, each once: for pool metrics and statement logs."""
        return [self.engine] if self.autocommit is self.engine else [self.engine, self.autocommit]

    def ping(self) -> None:
        self.read_one(PING)

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
