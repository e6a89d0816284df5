"""`make db-backup` / `make db-restore FILE=...`: pg_dump / pg_restore of DATABASE_URL's database.

    python3 scripts/pgbackup.py backup [--dir backups]
    python3 scripts/pgbackup.py restore FILE [--yes]

Standard library only (no virtualenv needed on a server). The URL is split into libpq's PG*
environment variables, so the password never appears in a process listing. Backups are
pg_dump's custom format (-Fc): compressed, and pg_restore can restore any part of them.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import unquote, urlsplit

DEFAULT_DIR = Path("backups")
ARCHIVE_MAGIC = b"PGDMP"  # the first bytes of every pg_dump custom-format archive


class BackupError(RuntimeError):
    """Something the person running the command can fix; the message says what."""


def libpq_environment(database_url: str | None) -> tuple[dict[str, str], str]:
    """PG* variables for DATABASE_URL, and the database name; BackupError if it is not usable."""
    if not database_url:
        raise BackupError(
            "DATABASE_URL is not set: point it at the database, "
            "e.g. DATABASE_URL=postgresql://user:password@127.0.0.1:5432/links"
        )
    if database_url.startswith("sqlite"):
        raise BackupError(
            "DATABASE_URL is a SQLite database: pg_dump cannot read it. Back it up by copying "
            "the file while the app is stopped (e.g. cp instance/app.sqlite3 backups/)."
        )
    parts = urlsplit(database_url)
    if parts.scheme not in {"postgres", "postgresql", "postgresql+psycopg", "postgresql+psycopg2"}:
        raise BackupError(
            f"DATABASE_URL must start with postgresql:// or postgres://, not {parts.scheme}://"
        )
    database = unquote(parts.path.lstrip("/"))
    if not database:
        raise BackupError("DATABASE_URL names no database (…:5432/<name> is missing)")
    env = {"PGDATABASE": database, "PGHOST": parts.hostname or "localhost"}
    if parts.port:
        env["PGPORT"] = str(parts.port)
    if parts.username:
        env["PGUSER"] = unquote(parts.username)
    if parts.password:
        env["PGPASSWORD"] = unquote(parts.password)
    for option in filter(None, parts.query.split("&")):
        key, _, value = option.partition("=")
        if key == "sslmode":  # Heroku and RDS URLs may carry it
            env["PGSSLMODE"] = value
    return env, database


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise BackupError(
            f"{name} not found: install the PostgreSQL client (apt-get install postgresql-client)"
        )
    return path


def _run(command: list[str], env: dict[str, str]) -> None:
    # The command is one of ours (pg_dump/pg_restore from PATH); no shell is involved.
    result = subprocess.run(command, env={**os.environ, **env}, check=False)  # noqa: S603
    if result.returncode != 0:
        raise BackupError(f"{Path(command[0]).name} failed with exit code {result.returncode}")


def backup(database_url: str | None, directory: Path = DEFAULT_DIR) -> Path:
    """Dump the database to <directory>/<db>-<UTC timestamp>.dump; return the path."""
    env, database = libpq_environment(database_url)
    directory.mkdir(parents=True, exist_ok=True)
    directory.chmod(0o700)  # dumps hold every row: owner only
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    target = directory / f"{database}-{stamp}.dump"
    partial = target.with_suffix(".dump.partial")  # a failed dump never looks like a backup
    try:
        _run([_tool("pg_dump"), "--format=custom", f"--file={partial}"], env)
        partial.rename(target)
    finally:
        partial.unlink(missing_ok=True)
    return target


def check_archive(archive: Path) -> None:
    if not archive.is_file():
        raise BackupError(f"backup file {archive} does not exist (see `ls backups/`)")
    with archive.open("rb") as handle:
        if handle.read(len(ARCHIVE_MAGIC)) != ARCHIVE_MAGIC:
            raise BackupError(f"{archive} is not a pg_dump custom-format archive (make db-backup)")


def restore(database_url: str | None, archive: Path) -> str:
    """Restore the archive into DATABASE_URL's database, replacing the objects it contains."""
    env, database = libpq_environment(database_url)
    check_archive(archive)
    _run(
        [
            _tool("pg_restore"),
            "--clean",  # drop what the archive recreates ...
            "--if-exists",  # ... without errors on an empty database
            "--no-owner",  # objects belong to the restoring user (roles differ between hosts)
            "--single-transaction",  # all or nothing
            "--exit-on-error",
            f"--dbname={database}",
            str(archive),
        ],
        env,
    )
    return database


def _confirmed(database: str, yes: bool) -> bool:
    if yes:
        return True
    if not sys.stdin.isatty():
        raise BackupError(
            "restore replaces data: pass --yes (make db-restore ... YES=1) to confirm"
        )
    answer = input(f"Restore over database {database!r}? Type its name to confirm: ")
    return answer.strip() == database


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="pgbackup", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    dump = commands.add_parser("backup", help="pg_dump DATABASE_URL into a timestamped file")
    dump.add_argument("--dir", type=Path, default=DEFAULT_DIR, help="default: backups/")
    load = commands.add_parser("restore", help="pg_restore FILE into DATABASE_URL")
    load.add_argument("file", type=Path)
    load.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    args = parser.parse_args(argv)
    url = os.environ.get("DATABASE_URL")
    try:
        if args.command == "backup":
            print(backup(url, args.dir))
        else:
            _, database = libpq_environment(url)
            check_archive(args.file)
            if not _confirmed(database, args.yes):
                print("restore cancelled", file=sys.stderr)
                return 1
            restore(url, args.file)
            print(f"restored {args.file} into {database}")
    except BackupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
