"""The app under its real servers: gunicorn (production) and run.py (local, no services)."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.support.ports import free_port
from tests.support.procs import run_python
from tests.support.servers import serving, wait_until_up
from tests.support.services import clicks_in_db

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def gunicorn(database_url: str, redis_url: str, tmp_path: Path) -> Iterator[dict]:
    port = free_port()
    log_path = tmp_path / "access.log"
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "SECRET_KEY": secrets.token_hex(32),
        "ALLOWED_HOSTS": "127.0.0.1",
        "APP_INSTANCE": "gunicorn-1",
        "BIND": f"127.0.0.1:{port}",
        "WEB_CONCURRENCY": "2",
        "CLICK_FLUSH_SECONDS": "60",  # only a graceful stop can have written the clicks
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    with serving(
        [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py"],
        cwd=ROOT,
        env=env,
        log_path=log_path,
        ready_url=f"http://127.0.0.1:{port}/healthz",
    ) as process:
        base = f"http://127.0.0.1:{port}"
        yield {"base": base, "process": process, "log": log_path, "database_url": database_url}


def test_gunicorn_logs_one_json_line_per_request(gunicorn: dict) -> None:
    response = requests.get(f"{gunicorn['base']}/healthz", headers={"X-Request-ID": "trace-me"})
    assert response.headers["X-Served-By"] == "gunicorn-1"
    requests.get(f'{gunicorn["base"]}/api/links/%22quoted%22?x="y"')
    time.sleep(0.3)
    lines = [
        json.loads(line)
        for line in gunicorn["log"].read_text().splitlines()
        if line.startswith("{") and '"type": "access"' in line
    ]
    traced = [line for line in lines if line["request_id"] == "trace-me"]
    assert len(traced) == 1
    entry = traced[0]
    assert entry["method"] == "GET"
    assert entry["path"] == "/healthz"
    assert entry["status"] == 200
    assert entry["instance"] == "gunicorn-1"
    assert entry["duration_ms"] >= 0
    hostile = [line for line in lines if line["path"] == '/api/links/"quoted"']
    assert hostile and hostile[0]["status"] == 404
    assert entry["remote_addr"] == "127.0.0.1"
    assert entry["forwarded_for"] is None


def test_access_log_names_the_client_the_proxy_reported(gunicorn: dict) -> None:
    # As nginx sends it: whatever the client claimed, then the address nginx saw.
    forwarded = "198.51.100.66, 203.0.113.5"
    requests.get(
        f"{gunicorn['base']}/healthz",
        headers={"X-Request-ID": "xff-check", "X-Forwarded-For": forwarded},
    )
    time.sleep(0.3)
    entry = next(
        json.loads(line)
        for line in gunicorn["log"].read_text().splitlines()
        if '"request_id": "xff-check"' in line
    )
    assert entry["remote_addr"] == "203.0.113.5"  # the trusted proxy's view, not the forgery
    assert entry["forwarded_for"] == forwarded  # the raw header, in its own field


def test_graceful_stop_writes_every_counted_click(gunicorn: dict) -> None:
    base = gunicorn["base"]
    created = requests.post(
        f"{base}/api/links", json={"url": "https://example.com/", "code": "stopclick"}
    )
    assert created.status_code == 201
    session = requests.Session()
    for _ in range(25):
        assert session.get(f"{base}/stopclick", allow_redirects=False).status_code == 302
    assert clicks_in_db(gunicorn["database_url"], "stopclick") == 0  # all still in memory
    gunicorn["process"].send_signal(signal.SIGTERM)  # what a rolling restart's stop sends
    gunicorn["process"].wait(timeout=30)
    assert clicks_in_db(gunicorn["database_url"], "stopclick") == 25


def healthz_count(base: str) -> float:
    # A fresh connection each time, so successive scrapes land on different workers.
    scrape = requests.get(f"{base}/metrics", headers={"Connection": "close"})
    assert scrape.status_code == 200, scrape.text[:2000]
    prefix = 'http_requests_total{endpoint="/healthz",method="GET",status="200"}'
    counted = [line for line in scrape.text.splitlines() if line.startswith(prefix)]
    assert counted, f"no {prefix} in the scrape:\n{scrape.text[:4000]}"
    return float(counted[0].split()[-1])


def test_metrics_cover_every_worker(gunicorn: dict) -> None:
    base = gunicorn["base"]
    before = healthz_count(base)
    for _ in range(40):
        requests.get(f"{base}/healthz", headers={"Connection": "close"})
    # Whichever worker answers the scrape, it reports the sum over both workers.
    assert {healthz_count(base) for _ in range(6)} == {before + 40}


def test_run_py_serves_with_no_environment_at_all(tmp_path: Path) -> None:
    for name in ("app", "run.py"):
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(source, tmp_path / name)
    port = free_port()
    env = {"PATH": os.environ["PATH"], "PORT": str(port), "HOME": str(tmp_path)}
    process = subprocess.Popen(
        [sys.executable, "run.py"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(f"{base}/healthz", process)
        created = requests.post(f"{base}/api/links", json={"url": "https://example.com/local"})
        assert created.status_code == 201
        code = created.json()["code"]
        follow = requests.get(
            f"{base}/{code}", allow_redirects=False, headers={"X-Request-ID": "trace-run-py"}
        )
        assert follow.headers["Location"] == "https://example.com/local"
        assert (tmp_path / "instance" / "app.sqlite3").exists()
        ready = requests.get(f"{base}/readyz").json()
        assert ready["checks"]["cache"]["backend"] == "in-process"
        # It answers the loopback names only (run.py's default ALLOWED_HOSTS).
        assert requests.get(f"{base}/", headers={"Host": "localhost"}).status_code == 200
        assert requests.get(f"{base}/", headers={"Host": "evil.example"}).status_code == 400
    finally:
        process.terminate()
        output, _ = process.communicate(timeout=10)
    # Development logs are plain lines a person reads, with the request id, without colours.
    assert re.search(rf" trace-run-py access: GET /{code} 302 [0-9.]+ ms$", output, re.M), output
    assert "\x1b[" not in output
    assert '"request_id"' not in output


def test_run_py_rejects_a_bad_port() -> None:
    env = {"PORT": "http", "APP_ENV": "development", "DATABASE_URL": "sqlite:///:memory:"}
    result = run_python(["run.py"], env, timeout=30)
    assert result.returncode == 3
    assert "PORT: must be 1-65535" in result.stderr


def run_gunicorn(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """gunicorn with gunicorn.conf.py and only PATH plus `env`: what it says on a bad start."""
    return run_python(["-m", "gunicorn", "-c", "gunicorn.conf.py", *args], env, timeout=60)


def test_gunicorn_refuses_production_without_secret_key_or_host_names() -> None:
    result = run_gunicorn({"BIND": f"127.0.0.1:{free_port()}", "WEB_CONCURRENCY": "3"})
    assert result.returncode == 4  # gunicorn's "App failed to load": the master stops
    output = result.stdout + result.stderr
    # Said once, by the master before it forks (3 workers would otherwise each fail), and
    # without a traceback.
    assert output.count("SECRET_KEY is required when APP_ENV=production") == 1, output
    assert output.count("PUBLIC_BASE_URL or ALLOWED_HOSTS is required") == 1, output
    assert "Traceback" not in output, output
    assert "Booting worker" not in output, output


def test_gunicorn_refuses_the_example_files_secret_key() -> None:
    env = {
        "BIND": f"127.0.0.1:{free_port()}",
        "SECRET_KEY": "change-me-to-a-long-random-string",  # .env.example's value
        "ALLOWED_HOSTS": "links.example",
    }
    result = run_gunicorn(env)
    assert result.returncode != 0
    assert "SECRET_KEY is a placeholder from an example file" in result.stdout + result.stderr


def test_gunicorn_names_the_missing_gevent_package() -> None:
    # The test venv installs requirements-dev.txt, which leaves the optional gevent out.
    assert importlib.util.find_spec("gevent") is None
    result = run_gunicorn({"WORKER_CLASS": "gevent"}, "--check-config")
    assert result.returncode != 0
    assert "pip install -r requirements-gevent.txt" in result.stdout + result.stderr


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("WEB_CONCURRENCY", "0"),
        ("WEB_CONCURRENCY", "65"),
        ("WORKER_CLASS", "eventlet"),
        ("PORT", "0"),
    ],
)
def test_gunicorn_config_rejects_bad_values(name: str, value: str) -> None:
    result = run_gunicorn({name: value}, "--check-config")
    assert result.returncode != 0
    assert f"{name}: " in result.stdout + result.stderr
