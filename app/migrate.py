"""`python -m app.migrate`: bring the database schema to the latest revision.

Safe to run from every instance at once: on PostgreSQL the upgrade happens under an advisory lock,
so the first starter migrates and the others wait, then find nothing to do.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, create_engine, make_url, text
from sqlalchemy.exc import OperationalError

from app.config import (
    INSTANCE_DIR,
    AppEnv,
    ConfigError,
    DatabaseSettings,
    load_settings,
    normalise_database_url,
)

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"  # shipped in the package
# Any constant works; it only has to be the same for every instance of this app.
ADVISORY_LOCK_ID = 0x666C61736B6D74  # "flaskmt"
LOCK_POLL_SECONDS = 0.2  # how often a waiting starter tries the lock again

# Exit codes of `python -m app.migrate` and `run.py` (2 is argparse's usage error).
EXIT_CONFIG = 3  # the environment is invalid: the message names the variable
EXIT_DATABASE = 4  # DATABASE_URL's server cannot be reached or refused the login
EXIT_REDIS = 5  # REDIS_URL's server cannot be reached (run.py only)

log = logging.getLogger(__name__)


class DatabaseUnreachableError(RuntimeError):
    """The database in DATABASE_URL cannot be used; the message says which and why, in one line."""


def describe(database_url: str) -> str:
    """The database a URL names, without its password: what a person checks it against."""
    return make_url(normalise_database_url(database_url)).render_as_string(hide_password=True)


def _take_lock(connection: Connection) -> None:
    """Take the advisory lock, waiting for it outside any transaction.

    A starter blocked inside pg_advisory_lock holds a snapshot while it waits, and a migration
    that builds an index CONCURRENTLY waits for every older snapshot to end: the migrating starter
    and the waiting ones would deadlock. Polling with pg_try_advisory_lock holds none between tries.
    """
    take = text("SELECT pg_try_advisory_lock(:id)")
    while not connection.execute(take, {"id": ADVISORY_LOCK_ID}).scalar():
        connection.commit()
        time.sleep(LOCK_POLL_SECONDS)
    connection.commit()


def upgrade(database_url: str) -> None:
    """Upgrade to head; serialised across processes and hosts on PostgreSQL.

    Raises DatabaseUnreachableError when the server cannot be reached or refuses the login.
    """
    database_url = normalise_database_url(database_url)
    if database_url.startswith("sqlite"):
        INSTANCE_DIR.mkdir(parents=True, exist_ok=True)
    engine = create_engine(database_url)
    try:
        try:
            connection = engine.connect()
        except OperationalError as exc:
            # The driver's first line says what failed (refused, no such host, bad password).
            reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
            raise DatabaseUnreachableError(
                f"DATABASE_URL: cannot connect to {describe(database_url)}: {reason}"
            ) from None
        with connection:
            locking = connection.dialect.name == "postgresql"
            if locking:
                _take_lock(connection)
            try:
                config = Config()
                config.set_main_option("script_location", str(MIGRATIONS_DIR))
                config.attributes["connection"] = connection
                command.upgrade(config, "head")
                connection.commit()
            finally:
                if locking:
                    connection.execute(
                        text("SELECT pg_advisory_unlock(:id)"), {"id": ADVISORY_LOCK_ID}
                    )
                    connection.commit()
    finally:
        engine.dispose()


def _parser() -> argparse.ArgumentParser:
    return argparse.ArgumentParser(
        prog="python -m app.migrate",
        description=(
            "Bring the database in DATABASE_URL to the latest schema revision. Safe to run "
            "from every instance at once (PostgreSQL advisory lock)."
        ),
        epilog=(
            "environment: DATABASE_URL (postgresql://... or sqlite:///...); APP_ENV. In "
            "production (APP_ENV unset or production) DATABASE_URL is required, so a forgotten "
            "variable never migrates a local SQLite file instead. "
            f"exit codes: 0 migrated, 2 bad arguments, {EXIT_CONFIG} invalid configuration, "
            f"{EXIT_DATABASE} database unreachable."
        ),
    )


def _production() -> bool:
    return os.environ.get("APP_ENV", AppEnv.PRODUCTION) == AppEnv.PRODUCTION


def main(argv: Sequence[str] | None = None) -> int:
    _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    if _production() and not os.environ.get("DATABASE_URL"):
        print(
            "invalid configuration:\n  DATABASE_URL: required when APP_ENV=production (the "
            "default); set it to the database to migrate, or APP_ENV=development for the "
            "local SQLite file",
            file=sys.stderr,
        )
        return EXIT_CONFIG
    try:
        settings = load_settings(DatabaseSettings)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return EXIT_CONFIG
    target = describe(settings.DATABASE_URL)
    log.info("migrating %s", target)
    try:
        upgrade(settings.DATABASE_URL)
    except DatabaseUnreachableError as exc:
        print(exc, file=sys.stderr)
        return EXIT_DATABASE
    log.info("%s is at the latest revision", target)
    return 0


if __name__ == "__main__":
    sys.exit(main())
