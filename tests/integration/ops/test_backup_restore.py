"""`make db-backup` / `make db-restore`: data written to one database comes back in a new, empty
one."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from app.migrate import upgrade
from tests.support import pg
from tests.support.need import need
from tests.support.services import postgres_reachable, scratch_database

ROOT = Path(__file__).resolve().parents[3]
LINKS = [("bk-one", "https://example.com/1", 5), ("bk-two", "https://example.com/2", 0)]


def make(*args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["make", "-s", *args],
        cwd=ROOT,
        env={**os.environ, **env},
        stdin=subprocess.DEVNULL,  # never a terminal: restore must not wait for an answer
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def rows(url: str) -> list[tuple]:
    with pg.connect(url) as connection:
        return connection.execute("SELECT code, url, clicks FROM links ORDER BY code").fetchall()


@pytest.fixture(scope="module")
def postgres() -> None:
    need(postgres_reachable(), "PostgreSQL is not reachable (TEST_DATABASE_URL)")


def test_backup_then_restore_into_an_empty_database(postgres: None, tmp_path: Path) -> None:
    with scratch_database("fm_backup_src") as source, scratch_database("fm_backup_dst") as target:
        upgrade(source)
        with pg.connect(source) as connection:
            for code, url, clicks in LINKS:
                connection.execute(
                    "INSERT INTO links (code, url, clicks, created_at) VALUES (%s, %s, %s, now())",
                    (code, url, clicks),
                )

        dumped = make("db-backup", f"BACKUP_DIR={tmp_path}", DATABASE_URL=source)
        assert dumped.returncode == 0, dumped.stderr
        archive = Path(dumped.stdout.strip())
        assert archive.parent == tmp_path
        assert archive.name.startswith(source.rsplit("/", 1)[1] + "-")
        assert archive.read_bytes()[:5] == b"PGDMP"
        assert list(tmp_path.glob("*.partial")) == []

        restored = make("db-restore", f"FILE={archive}", "YES=1", DATABASE_URL=target)
        assert restored.returncode == 0, restored.stderr
        assert rows(target) == sorted(LINKS)

        # Restoring again over changed data puts the backup's rows back (--clean).
        with pg.connect(target) as connection:
            connection.execute("UPDATE links SET clicks = 999")
            connection.execute(
                "INSERT INTO links (code, url, created_at) VALUES ('new', 'https://x.org', now())"
            )
        again = make("db-restore", f"FILE={archive}", "YES=1", DATABASE_URL=target)
        assert again.returncode == 0, again.stderr
        assert rows(target) == sorted(LINKS)
        with pg.connect(target) as connection:
            version = connection.execute("SELECT version_num FROM alembic_version").fetchall()
        # the migration state came along: `make db-migrate` has nothing to do
        assert len(version) == 1


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (["db-backup"], {"DATABASE_URL": ""}, "DATABASE_URL is not set"),
        (["db-backup"], {"DATABASE_URL": "sqlite:///instance/app.sqlite3"}, "SQLite database"),
        (["db-backup"], {"DATABASE_URL": "mysql://u@h/db"}, "must start with postgresql://"),
        (["db-backup"], {"DATABASE_URL": "postgresql://u@h:5432/"}, "names no database"),
        (["db-restore", "YES=1"], {"DATABASE_URL": "postgresql://u@h/db"}, "set FILE"),
        (
            ["db-restore", "FILE=nope.dump", "YES=1"],
            {"DATABASE_URL": "postgresql://u@h/db"},
            "does not exist",
        ),
        (
            ["db-restore", "FILE=README.md", "YES=1"],
            {"DATABASE_URL": "postgresql://u@h/db"},
            "not a pg_dump",
        ),
    ],
)
def test_bad_input_gets_a_clear_error(args: list[str], env: dict[str, str], message: str) -> None:
    result = make(*args, **env)
    assert result.returncode != 0
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_restore_asks_before_replacing_data(tmp_path: Path) -> None:
    archive = tmp_path / "links.dump"
    archive.write_bytes(b"PGDMP" + bytes(64))
    result = make("db-restore", f"FILE={archive}", DATABASE_URL="postgresql://u@h/db")
    assert result.returncode != 0
    assert "pass --yes (make db-restore ... YES=1)" in result.stderr
