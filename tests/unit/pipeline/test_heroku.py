"""Heroku: the Procfile's commands really run, app.json asks for what the app reads."""

from __future__ import annotations

import json
import os
import re
import shlex
import sqlite3
import subprocess
import sys
from pathlib import Path

from app.config import Settings, load_settings
from tests.support.paths import REPO as ROOT

# Environment variables read by gunicorn.conf.py (the app's own are Settings fields).
GUNICORN_ENV = {"WEB_CONCURRENCY", "WORKER_CLASS", "THREADS", "BIND", "PORT", "GRACEFUL_TIMEOUT"}


def _procfile() -> dict[str, list[str]]:
    processes = {}
    for line in (ROOT / "Procfile").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, command = line.partition(":")
            assert re.fullmatch(r"[a-z]+", name), line
            processes[name] = shlex.split(command)
    return processes


def _app_json() -> dict:
    return json.loads((ROOT / "app.json").read_text())


def _clean_env(**extra: str) -> dict[str, str]:
    return {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp"), **extra}


def test_procfile_declares_web_and_release() -> None:
    processes = _procfile()
    assert set(processes) == {"web", "release"}
    assert processes["web"] == ["gunicorn", "-c", "gunicorn.conf.py"]
    assert processes["release"] == ["python", "-m", "app.migrate"]


def test_web_listens_on_heroku_port_with_the_real_wsgi_app(tmp_path: Path) -> None:
    config = _procfile()["web"][2]
    probe = "import runpy; c = runpy.run_path('gunicorn.conf.py'); print(c['bind'], c['wsgi_app'])"
    result = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=ROOT,
        env=_clean_env(PORT="43123", PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "metrics")),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    bind, wsgi_app = result.stdout.split()
    assert (ROOT / config).is_file()
    assert bind == "0.0.0.0:43123"
    module, _, attribute = wsgi_app.partition(":")
    assert (ROOT / Path(*module.split("."))).with_suffix(".py").is_file()
    check = subprocess.run(
        [sys.executable, "-m", "gunicorn", "-c", config, "--check-config"],
        cwd=ROOT,
        env=_clean_env(
            PORT="43123",
            SECRET_KEY="s" * 32,
            PUBLIC_BASE_URL="https://my-links.herokuapp.com",
            DATABASE_URL="sqlite:///:memory:",
            PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "metrics"),
        ),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert check.returncode == 0, check.stdout + check.stderr
    assert attribute == "app"


def test_release_command_migrates_a_fresh_database(tmp_path: Path) -> None:
    database = tmp_path / "heroku.sqlite3"
    command = _procfile()["release"]
    result = subprocess.run(
        [sys.executable, *command[1:]],
        cwd=ROOT,
        env=_clean_env(DATABASE_URL=f"sqlite:///{database}"),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    with sqlite3.connect(database) as connection:
        tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master")}
    assert {"alembic_version", "links"} <= tables


def test_app_json_addons_and_generated_secret() -> None:
    manifest = _app_json()
    plans = {addon["plan"].split(":")[0] for addon in manifest["addons"]}
    assert plans == {"heroku-postgresql", "heroku-redis"}
    env = manifest["env"]
    for secret in ("SECRET_KEY", "ADMIN_TOKEN"):
        assert env[secret] == {**env[secret], "generator": "secret"}
        assert "value" not in env[secret]  # never a fixed secret in the repository
    # The public address cannot be guessed: the deployer is asked for it.
    assert env["PUBLIC_BASE_URL"].get("required", True) and "value" not in env["PUBLIC_BASE_URL"]
    assert env["APP_ENV"]["value"] == "production"
    assert set(manifest["formation"]) <= set(_procfile())


def test_app_json_env_is_what_the_app_reads_and_valid() -> None:
    env = _app_json()["env"]
    assert set(env) <= set(Settings.model_fields) | GUNICORN_ENV
    values = {name: spec["value"] for name, spec in env.items() if "value" in spec}
    values.pop("WEB_CONCURRENCY")
    # What Heroku hands out: postgres:// and a TLS Redis with a self-signed certificate.
    settings = load_settings(
        Settings,
        **values,
        SECRET_KEY="x" * 64,
        ADMIN_TOKEN="y" * 64,  # what "generator": "secret" makes: 64 hex characters
        PUBLIC_BASE_URL="https://my-links-4f3c2a1b9d8e.herokuapp.com",
        DATABASE_URL="postgres://u:p@ec2-1-2-3-4.compute-1.amazonaws.com:5432/d1",
        REDIS_URL="rediss://:p@ec2-5-6-7-8.compute-1.amazonaws.com:6380",
    )
    assert settings.REDIS_TLS_VERIFY is False
    assert settings.DATABASE_URL.startswith("postgresql+psycopg2://")
    assert 1 <= int(env["WEB_CONCURRENCY"]["value"]) <= 64


def test_python_version_is_set_once_and_agrees_everywhere() -> None:
    version = (ROOT / ".python-version").read_text().strip()
    assert re.fullmatch(r"3\.\d+", version)
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert f'requires-python = ">={version}"' in pyproject
    assert f'target-version = "py{version.replace(".", "")}"' in pyproject
    # The image runs Debian 12's interpreter: the venv is made by /usr/bin/python3.X by name, and
    # every other mention (python3.X, python:3.X) agrees.
    dockerfile = (ROOT / "docker/app/Dockerfile").read_text()
    assert f"/usr/bin/python{version} -m venv" in dockerfile
    assert set(re.findall(r"python:?(3\.\d+)", dockerfile)) == {version}
