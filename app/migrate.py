"""`python -m app.migrate`: bring the database schema to the latest revision.

Safe to run from every instance at once: on PostgreSQL the upgrade happens under an advisory lock,
so the first starter migrates and the others wait, then find nothing to do.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, text

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

log = logging.getLogger(__name__)


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
                connection.execute(text("SELECT pg_advisory_lock(:id)"), {"id": ADVISORY_LOCK_ID})
                connection.commit()
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
