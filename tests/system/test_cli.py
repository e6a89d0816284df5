"""`python -m stack`: the command a person runs, its errors, and that `down` leaves nothing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from stack import procs
from stack.config import REPO_ROOT
from stack.state import State
from tests.support.auth import ADMIN, ADMIN_TOKEN
from tests.support.http_client import call
from tests.support.stacks import StackFactory


def _stack(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "stack", *args],
        cwd=REPO_ROOT,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["up", "--instances", "0"], "instances must be between 1 and 16"),
        (["up", "--instances", "17"], "instances must be between 1 and 16"),
        (["up", "--instances", "two"], "instances must be a whole number"),
        (["up", "--port", "70000"], "port must be between 0 and 65535"),
        (["up", "--worker-class", "eventlet"], "invalid choice"),
        (["up", "--write-rate", "fast"], "write rate must look like 10r/s"),
        (["frobnicate"], "invalid choice"),
    ],
)
def test_bad_arguments_get_a_clear_error(tmp_path: Path, args: list[str], message: str) -> None:
    result = _stack("--state-dir", str(tmp_path), *args)
    assert result.returncode == 2
    assert message in result.stderr
    assert not (tmp_path / "state.json").exists()  # nothing was started


def test_bad_service_urls_are_refused_before_anything_starts(tmp_path: Path) -> None:
    result = _stack("--state-dir", str(tmp_path), "up", env={"DATABASE_URL": "mysql://x/y"})
    assert result.returncode == 2
    assert "DATABASE_URL: must start with postgresql://" in result.stderr
    result = _stack("--state-dir", str(tmp_path), "up", env={"STACK_WRITE_RATE": "10 per s"})
    assert result.returncode == 2
    assert "write rate must look like" in result.stderr


def test_commands_without_a_stack_say_so(tmp_path: Path) -> None:
    assert "no stack recorded" in _stack("--state-dir", str(tmp_path), "down").stdout
    for command in ("status", "rolling-restart"):
        result = _stack("--state-dir", str(tmp_path), command)
        assert result.returncode == 2
        assert "no stack recorded" in result.stderr


def test_up_status_down_from_the_command_line(
    tools: None, database_url: str, redis_url: str, tmp_path: Path
) -> None:
    env = {"DATABASE_URL": database_url, "REDIS_URL": redis_url, "WEB_CONCURRENCY": "1"}
    args = ("--state-dir", str(tmp_path))
    started = _stack(*args, "up", "--instances", "2", "--port", "0", env=env)
    try:
        assert started.returncode == 0, started.stderr
        state = State.load(tmp_path)
        assert state is not None
        assert f"stack is up: {state.url}" in started.stdout
        assert "note: ADMIN_TOKEN is not set: there is no admin" in started.stdout
        assert call(state.url, "GET", "/readyz").status == 200

        again = _stack(*args, "up", "--port", "0", env=env)
        assert again.returncode == 2
        assert "already running" in again.stderr

        status = _stack(*args, "status")
        assert status.returncode == 0, status.stdout
        assert status.stdout.count("/readyz 200") == 2

        one = _stack(*args, "rolling-restart")  # 2 instances: allowed, and it works
        assert one.returncode == 0, one.stderr
    finally:
        stopped = _stack(*args, "down")
    assert stopped.returncode == 0
    assert "stack stopped" in stopped.stdout
    refs = [i.proc for i in state.instances if i.proc] + [state.nginx]
    assert not any(procs.is_alive(ref) for ref in refs if ref)
    assert all(not procs.group_alive(ref.pid) for ref in refs if ref)
    assert call(state.url, "GET", "/nginx-health").status == 0  # nothing listens any more
    assert not (tmp_path / "state.json").exists()


def test_rolling_restart_refuses_a_single_instance(make_stack: StackFactory) -> None:
    state = make_stack(instances=1)
    result = _stack("--state-dir", str(state.state_dir), "rolling-restart")
    assert result.returncode == 2
    assert "needs at least 2 instances" in result.stderr


def test_failed_migration_starts_nothing(tools: None, tmp_path: Path) -> None:
    missing = "postgresql://postgres@127.0.0.1:5432/no_such_database_for_stack_tests"
    result = _stack(
        "--state-dir", str(tmp_path), "up", "--port", "0", env={"DATABASE_URL": missing}
    )
    assert result.returncode == 2
    assert "python -m app.migrate failed" in result.stderr
    assert not (tmp_path / "state.json").exists()
    assert not (tmp_path / "logs").exists()  # no instance was ever started


def test_app_settings_given_to_up_reach_every_instance_and_outlive_a_rolling_restart(
    tools: None, database_url: str, redis_url: str, tmp_path: Path
) -> None:
    settings = {
        "ADMIN_TOKEN": ADMIN_TOKEN,
        "RATELIMIT_CREATE": "2/minute",
        "ALLOWED_HOSTS": "127.0.0.1,links.test",
    }
    services = {"DATABASE_URL": database_url, "REDIS_URL": redis_url, "WEB_CONCURRENCY": "1"}
    args = ("--state-dir", str(tmp_path))
    started = _stack(
        *args,
        "up",
        "--instances",
        "2",
        "--port",
        "0",
        "--write-rate",
        "off",
        env={**services, **settings},
    )
    try:
        assert started.returncode == 0, started.stderr
        state = State.load(tmp_path)
        assert state is not None

        def behaves_as_configured() -> None:
            listed = [call(state.url, "GET", "/api/links", headers=ADMIN) for _ in range(6)]
            assert {reply.status for reply in listed} == {200}
            assert {reply.served_by for reply in listed} == {"app-1", "app-2"}
            named = call(state.url, "GET", "/healthz", headers={"Host": "links.test"})
            assert named.status == 200
            assert call(state.url, "GET", "/", headers={"Host": "links.test"}).status == 200
            assert call(state.url, "GET", "/", headers={"Host": "evil.test"}).status == 400

        behaves_as_configured()
        body = {"url": "https://example.com/"}
        creates = [call(state.url, "POST", "/api/links", body=body).status for _ in range(3)]
        assert creates == [201, 201, 429]

        # Restarted from a shell that no longer has those variables: the stack kept them.
        restarted = _stack(*args, "rolling-restart", env=services)
        assert restarted.returncode == 0, restarted.stderr
        behaves_as_configured()
        assert call(state.url, "POST", "/api/links", body=body).status == 429
    finally:
        _stack(*args, "down")
