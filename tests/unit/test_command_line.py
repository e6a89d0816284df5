"""What the app's commands say to a person who got something wrong: one line, a distinct code.

No service is needed: an unreachable server is a loopback port nobody listens on.
"""

from __future__ import annotations

import os
import runpy
import subprocess
from pathlib import Path

import pytest

from app.migrate import EXIT_CONFIG, EXIT_DATABASE, EXIT_REDIS
from tests.support.ports import free_port
from tests.support.procs import run_python

ROOT = Path(__file__).resolve().parents[2]


def run(args: list[str], **env: str) -> subprocess.CompletedProcess[str]:
    """`python ARGS` from the repository root with only PATH and `env` set."""
    return run_python(args, env)


def nobody_listens() -> int:
    return free_port()  # free right now: a connection to it is refused


def test_migrate_help_explains_and_migrates_nothing(tmp_path: Path) -> None:
    database = tmp_path / "untouched.sqlite3"
    result = run(["-m", "app.migrate", "--help"], DATABASE_URL=f"sqlite:///{database}")
    assert result.returncode == 0, result.stderr
    assert "usage: python -m app.migrate" in result.stdout
    assert "DATABASE_URL" in result.stdout
    assert "exit codes" in result.stdout
    assert not database.exists()


def test_migrate_refuses_unknown_arguments() -> None:
    result = run(["-m", "app.migrate", "--database", "x"])
    assert result.returncode == 2  # argparse's usage error
    assert "unrecognized arguments" in result.stderr


def test_migrate_names_the_database_it_migrates(tmp_path: Path) -> None:
    database = tmp_path / "named.sqlite3"
    result = run(["-m", "app.migrate"], DATABASE_URL=f"sqlite:///{database}")
    assert result.returncode == 0, result.stderr
    assert f"migrating sqlite:///{database}" in result.stderr
    assert database.exists()


def test_migrate_hides_the_password_it_was_given() -> None:
    port = nobody_listens()
    url = f"postgresql://links:hunter2secret@127.0.0.1:{port}/links"
    result = run(["-m", "app.migrate"], DATABASE_URL=url)
    assert "hunter2secret" not in result.stdout + result.stderr
    assert f"links:***@127.0.0.1:{port}/links" in result.stderr


def test_migrate_in_production_without_database_url_refuses(tmp_path: Path) -> None:
    result = run(["-m", "app.migrate"], HOME=str(tmp_path))  # APP_ENV unset: production
    assert result.returncode == EXIT_CONFIG
    assert "DATABASE_URL: required when APP_ENV=production" in result.stderr
    assert "migrating" not in result.stderr


def test_migrate_with_an_unreachable_database_says_so_in_one_line() -> None:
    port = nobody_listens()
    result = run(["-m", "app.migrate"], DATABASE_URL=f"postgresql://postgres@127.0.0.1:{port}/db")
    assert result.returncode == EXIT_DATABASE
    problem = result.stderr.strip().splitlines()[-1]
    assert problem.startswith(
        f"DATABASE_URL: cannot connect to postgresql+psycopg2://postgres@127.0.0.1:{port}/db"
    )
    assert "Traceback" not in result.stderr


def test_run_py_with_an_unreachable_database_says_so_in_one_line() -> None:
    port = nobody_listens()
    result = run(["run.py"], DATABASE_URL=f"postgresql://postgres@127.0.0.1:{port}/db")
    assert result.returncode == EXIT_DATABASE
    assert result.stderr.strip().startswith("DATABASE_URL: cannot connect to")
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_run_py_with_an_unreachable_redis_says_so_in_one_line(tmp_path: Path) -> None:
    port = nobody_listens()
    result = run(
        ["run.py"],
        DATABASE_URL=f"sqlite:///{tmp_path / 'app.sqlite3'}",
        REDIS_URL=f"redis://:sesame-secret@127.0.0.1:{port}/0",
    )
    assert result.returncode == EXIT_REDIS
    assert result.stderr.strip().startswith(f"REDIS_URL: cannot connect to 127.0.0.1:{port}/0")
    assert "sesame-secret" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_run_py_with_a_bad_variable_names_it() -> None:
    result = run(["run.py"], LOG_LEVEL="LOUD", DATABASE_URL="sqlite:///:memory:")
    assert result.returncode == EXIT_CONFIG
    assert "LOG_LEVEL: must be one of" in result.stderr


@pytest.mark.parametrize(("cores", "workers"), [(2, 2), (96, 64)])
def test_web_concurrency_default_is_capped_not_refused(
    cores: int, workers: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("WEB_CONCURRENCY", raising=False)
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    monkeypatch.setattr(os, "cpu_count", lambda: cores)
    settings = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    assert settings["workers"] == workers


def test_web_concurrency_set_above_the_cap_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WEB_CONCURRENCY", "65")
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    with pytest.raises(SystemExit, match="WEB_CONCURRENCY: must be 1-64, not '65'"):
        runpy.run_path(str(ROOT / "gunicorn.conf.py"))
