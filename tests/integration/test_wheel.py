"""The built wheel is the whole app: installed into a clean venv, away from the repository, it
migrates a database and serves with gunicorn (templates, styles and migrations ship inside)."""

from __future__ import annotations

import os
import secrets
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.support import pg
from tests.support.paths import REPO
from tests.support.ports import free_port
from tests.support.procs import run
from tests.support.servers import serving
from tests.support.services import scratch_database

# What a wheel is built from: the package and its metadata, nothing else of the repository.
WHEEL_SOURCES = ("pyproject.toml", "README.md", "LICENSE", "app")


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with the wheel and its dependencies (pinned by requirements.txt)."""
    root = tmp_path_factory.mktemp("wheel")
    source = root / "source"
    source.mkdir()
    for name in WHEEL_SOURCES:
        if (REPO / name).is_dir():
            shutil.copytree(
                REPO / name, source / name, ignore=shutil.ignore_patterns("__pycache__")
            )
        else:
            shutil.copy(REPO / name, source / name)
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check"]
    run([*pip, "wheel", "--no-deps", "--quiet", "-w", str(root / "dist"), str(source)])
    (wheel,) = (root / "dist").glob("flask_multitier-*.whl")
    venv = root / "venv"
    run([sys.executable, "-m", "venv", str(venv)])
    install = ["install", "--quiet", "-c", str(REPO / "requirements.txt"), str(wheel)]
    run([str(venv / "bin/python"), "-m", "pip", "--disable-pip-version-check", *install])
    return venv


def clean_env(**values: str) -> dict[str, str]:
    """Only what a service manager would set: no PYTHONPATH, nothing pointing at the repo."""
    return {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp"), **values}


def test_the_installed_package_is_the_one_imported(installed: Path, tmp_path: Path) -> None:
    found = run(
        [str(installed / "bin/python"), "-c", "import app; print(app.__file__)"],
        cwd=tmp_path,
        env=clean_env(),
    )
    assert Path(found.stdout.strip()).is_relative_to(installed), found.stdout


@pytest.fixture
def empty_database() -> Iterator[str]:
    with scratch_database("fm_wheel") as url:
        yield url


def test_the_wheel_migrates_and_serves(
    installed: Path, empty_database: str, tmp_path: Path
) -> None:
    database_url = empty_database
    # Deployments ship gunicorn.conf.py beside the installed package; it is all they add.
    shutil.copy(REPO / "gunicorn.conf.py", tmp_path / "gunicorn.conf.py")
    env = clean_env(DATABASE_URL=database_url)
    run([str(installed / "bin/python"), "-m", "app.migrate"], cwd=tmp_path, env=env)
    with pg.connect(database_url) as connection:
        tables = {row[0] for row in connection.execute("SELECT tablename FROM pg_tables")}
    assert {"links", "retired_codes", "alembic_version"} <= tables

    port = free_port()
    env |= {
        "BIND": f"127.0.0.1:{port}",
        "WEB_CONCURRENCY": "1",
        "SECRET_KEY": secrets.token_hex(32),
        "ALLOWED_HOSTS": "127.0.0.1",
    }
    base = f"http://127.0.0.1:{port}"
    with serving(
        [str(installed / "bin/gunicorn"), "-c", "gunicorn.conf.py"],
        cwd=tmp_path,
        env=env,
        log_path=tmp_path / "gunicorn.log",
        ready_url=f"{base}/readyz",
    ):
        created = requests.post(f"{base}/api/links", json={"url": "https://example.com/wheel"})
        assert created.status_code == 201, created.text
        code = created.json()["code"]
        followed = requests.get(f"{base}/{code}", allow_redirects=False, timeout=5)
        assert (followed.status_code, followed.headers["Location"]) == (
            302,
            "https://example.com/wheel",
        )
        assert "<form" in requests.get(f"{base}/", timeout=5).text  # the templates shipped
        assert requests.get(f"{base}/static/style.css", timeout=5).status_code == 200
