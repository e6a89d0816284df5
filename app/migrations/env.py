"""Alembic environment: the URL comes from the app's settings, never from alembic.ini."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, create_engine

from app import models  # noqa: F401  (registers the tables on Base.metadata)
from app.config import DatabaseSettings, load_settings
from app.db import Base

target_metadata = Base.metadata


def run_migrations_online() -> None:
    # app.migrate passes the connection that holds the advisory lock; the CLI opens its own.
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = create_engine(load_settings(DatabaseSettings).DATABASE_URL)
    with engine.connect() as own_connection:
        _run(own_connection)
    engine.dispose()


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite cannot ALTER most things
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("offline (--sql) migrations are not supported; run against a database")
run_migrations_online()
