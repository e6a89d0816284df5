"""Migrations from an empty database, and the lock that stops concurrent starters racing."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory

from app.migrate import ADVISORY_LOCK_ID, MIGRATIONS_DIR
from tests.support import pg
from tests.support.services import scratch_database

ROOT = Path(__file__).resolve().parents[2]
TABLES = {"links", "retired_codes", "alembic_version"}


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", database_url)
    return config


HEAD = ScriptDirectory.from_config(alembic_config("")).get_current_head()


def migrate_process(database_url: str) -> subprocess.Popen[str]:
    env = {**os.environ, "DATABASE_URL": database_url}
    return subprocess.Popen(
        [sys.executable, "-m", "app.migrate"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def tables(database_url: str) -> set[str]:
    with pg.connect(database_url) as connection:
        rows = connection.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
        ).fetchall()
    return {row[0] for row in rows}


def test_upgrade_from_empty_creates_the_schema_at_head() -> None:
    with scratch_database("fm_mig") as url:
        assert tables(url) == set()
        process = migrate_process(url)
        output, _ = process.communicate(timeout=60)
        assert process.returncode == 0, output
        assert tables(url) == TABLES
        with pg.connect(url) as connection:
            assert connection.execute("SELECT version_num FROM alembic_version").fetchall() == [
                (HEAD,)
            ]


def test_concurrent_starters_wait_for_the_lock_and_all_succeed() -> None:
    with scratch_database("fm_mig") as url:
        with pg.connect(url, autocommit=True) as holder:
            holder.execute("SELECT pg_advisory_lock(%s)", (ADVISORY_LOCK_ID,))
            starters = [migrate_process(url) for _ in range(4)]
            time.sleep(2)
            # Nobody migrates while another holds the lock.
            assert all(process.poll() is None for process in starters)
            assert tables(url) == set()
            holder.execute("SELECT pg_advisory_unlock(%s)", (ADVISORY_LOCK_ID,))
        for process in starters:
            output, _ = process.communicate(timeout=60)
            assert process.returncode == 0, output
        assert tables(url) == TABLES
        with pg.connect(url) as connection:
            assert connection.execute("SELECT count(*) FROM alembic_version").fetchone() == (1,)


def test_migrate_with_a_bad_database_url_says_why() -> None:
    process = migrate_process("mysql://nope")
    output, _ = process.communicate(timeout=60)
    assert process.returncode == 3
    assert "DATABASE_URL: must start with postgresql://" in output


def test_ownership_revision_keeps_rows_and_the_previous_releases_statements_working(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """0002 runs on a live table: rows made before it stay, token-less; the SQL the release
    before it sends (insert, follow, delete) still works on the new schema."""
    with scratch_database("fm_mig") as url:
        monkeypatch.setenv("DATABASE_URL", url)
        command.upgrade(alembic_config(url), "0001")
        with pg.connect(url, autocommit=True) as connection:
            connection.execute(
                "INSERT INTO links (code, url, clicks, created_at) "
                "VALUES ('before', 'https://example.com/', 3, now())"
            )
        process = migrate_process(url)
        output, _ = process.communicate(timeout=60)
        assert process.returncode == 0, output
        with pg.connect(url, autocommit=True) as connection:
            assert connection.execute("SELECT code, clicks, token_hash FROM links").fetchall() == [
                ("before", 3, None)
            ]
            # What the previous release's code sends, unchanged:
            connection.execute(
                "INSERT INTO links (code, url, clicks, created_at) "
                "VALUES ('oldnew', 'https://example.com/n', 0, now())"
            )
            assert connection.execute("SELECT url FROM links WHERE code = 'oldnew'").fetchone() == (
                "https://example.com/n",
            )
            assert connection.execute("DELETE FROM links WHERE code = 'before'").rowcount == 1
