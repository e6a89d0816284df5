"""compose.yaml, run for real: from nothing to a working, scalable, restartable stack."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator

import pytest
import requests

from tests.support.compose import REQUIRED_SECRETS, Stack, short_ids
from tests.support.paths import REPO
from tests.support.procs import run
from tests.support.timing import record_phase

# The first test builds the engine and the images on a fresh machine (several minutes under load).
pytestmark = pytest.mark.timeout(1800)


@pytest.fixture
def running_stack(built_stack: Stack) -> Iterator[Stack]:
    """The stack up with its default 2 replicas (a no-op when it already is)."""
    started = time.monotonic()
    built_stack.compose("up", "-d", "--wait", "--scale", "app=2", timeout=600)
    record_phase("docker: compose up -d --wait (2 replicas)", time.monotonic() - started)
    yield built_stack


def _create_link(stack: Stack, url: str) -> str:
    response = requests.post(stack.url("/api/links"), json={"url": url}, timeout=10)
    assert response.status_code == 201, response.text
    return response.json()["code"]


def test_compose_config_validates(built_stack: Stack) -> None:
    built_stack.compose("config", "--quiet")


def test_compose_refuses_to_start_without_secrets(built_stack: Stack, tmp_path) -> None:
    empty = tmp_path / "empty.env"
    empty.write_text("")
    result = run(
        ["docker", "compose", "-p", built_stack.project, "--env-file", str(empty), "config"],
        env=built_stack.env,
        check=False,
    )
    assert result.returncode != 0
    # compose names the first missing one it meets (its order is not fixed)
    assert "required variable" in result.stderr and "in .env" in result.stderr
    assert any(name in result.stderr for name in REQUIRED_SECRETS)


def test_link_through_nginx_reaches_both_replicas(running_stack: Stack) -> None:
    code = _create_link(running_stack, "https://example.com/docker-tier")
    follow = requests.get(running_stack.url(f"/{code}"), allow_redirects=False, timeout=10)
    assert follow.status_code == 302
    assert follow.headers["Location"] == "https://example.com/docker-tier"
    replicas = short_ids(running_stack.container_ids("app"))
    assert len(replicas) == 2
    assert running_stack.wait_for_served_by(replicas) == replicas


def test_static_files_are_served_by_nginx(running_stack: Stack) -> None:
    response = requests.get(running_stack.url("/static/style.css"), timeout=10)
    assert response.status_code == 200
    assert "X-Served-By" not in response.headers  # nginx answered, not an app replica
    assert response.text == (REPO / "app" / "static" / "style.css").read_text()


def test_scale_to_three_is_seen_by_nginx(running_stack: Stack) -> None:
    try:
        running_stack.compose("up", "-d", "--wait", "--scale", "app=3")
        replicas = short_ids(running_stack.container_ids("app"))
        assert len(replicas) == 3
        assert running_stack.wait_for_served_by(replicas) == replicas
    finally:
        running_stack.compose("up", "-d", "--wait", "--scale", "app=2")


def test_rolling_restart_fails_no_request(running_stack: Stack) -> None:
    code = _create_link(running_stack, "https://example.com/rolling")
    failures: list[str] = []
    answered = 0
    slowest = 0.0
    stop = threading.Event()

    def poll() -> None:
        nonlocal answered, slowest
        while not stop.is_set():
            sent = time.monotonic()
            try:
                response = requests.get(
                    running_stack.url(f"/{code}"), allow_redirects=False, timeout=15
                )
                slowest = max(slowest, time.monotonic() - sent)
                if response.status_code != 302:
                    failures.append(f"{response.status_code} {response.text[:200]}")
            except requests.RequestException as error:
                failures.append(repr(error))
            answered += 1
            time.sleep(0.05)

    poller = threading.Thread(target=poll, daemon=True)
    poller.start()
    started = time.monotonic()
    try:
        run(
            [
                "bash",
                str(REPO / "docker" / "rolling-restart.sh"),
                "-p",
                running_stack.project,
                "--env-file",
                str(running_stack.env_file),
            ],
            env=running_stack.env,
        )
    finally:
        stop.set()
        poller.join(timeout=30)
    print(
        f"rolling restart: {time.monotonic() - started:.0f}s, {answered} requests polled, "
        f"slowest {slowest:.1f}s"
    )
    assert answered > 20
    assert failures == [], _slow_nginx_requests(running_stack)


def _slow_nginx_requests(stack: Stack, seconds: float = 1.0) -> str:
    """nginx's access log lines slower than `seconds`: where a failed request went, and when."""
    lines = stack.compose("logs", "--no-color", "nginx", check=False).stdout.splitlines()
    slow = []
    for line in lines:
        _, _, entry = line.partition("| ")
        try:
            if json.loads(entry)["request_time"] >= seconds:
                slow.append(entry)
        except (ValueError, KeyError, TypeError):
            continue  # not an access log line
    return "slow requests through nginx:\n" + "\n".join(slow[-20:])


def test_link_survives_down_and_up(running_stack: Stack) -> None:
    code = _create_link(running_stack, "https://example.com/persistent")
    running_stack.compose("down", "-t", "20")
    assert running_stack.leftovers()["volumes"], "down without -v must keep the named volumes"
    running_stack.compose("up", "-d", "--wait")
    response = requests.get(running_stack.url(f"/api/links/{code}"), timeout=10)
    assert response.status_code == 200
    assert response.json()["url"] == "https://example.com/persistent"


def test_down_v_removes_everything(running_stack: Stack) -> None:
    assert running_stack.leftovers()["containers"]
    running_stack.compose("down", "-v", "-t", "20")
    assert running_stack.leftovers() == {"containers": [], "volumes": [], "networks": []}
