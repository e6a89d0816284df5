"""`python -m app.migrate`: bring the database schema to the latest revision.

Safe to run from every instance at once: on PostgreSQL the upgrade happens under an advisory lock,
so the first starter migrates and the others wait, then find nothing to do.
"""

from __future__ import annotations

import logging
import sys
import time
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, create_engine, text

from app.config import (
    INSTANCE_DIR,
    ConfigError,
    DatabaseSettings,
    load_settings,
    normalise_database_url,
)

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"
# Any constant works; it only has to be the same for every instance of this app.
ADVISORY_LOCK_ID = 0x666C61736B6D74  # "flaskmt"
LOCK_POLL_SECONDS = 0.2  # how often a waiting starter tries the lock again

log = logging.getLogger(__name__)


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
    """Upgrade to head; serialised across processes and hosts on PostgreSQL."""
    database_url = normalise_database_url(database_url)
    if database_url.startswith("sqlite"):
        INSTANCE_DIR.mkdir(parents=True, exist_ok=True)
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
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


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        settings = load_settings(DatabaseSettings)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    upgrade(settings.DATABASE_URL)
    log.info("database schema is at the latest revision")
    return 0


if __name__ == "__main__":
    sys.exit(main())
