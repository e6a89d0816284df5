"""compose.yaml, run for real: from nothing to a working, scalable, restartable stack."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator

import pytest
import requests

from tests.support import tutorial
from tests.support.compose import IMAGE_TAG, REQUIRED_SECRETS, Stack, short_ids
from tests.support.paths import REPO
from tests.support.ports import free_port
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
    response = stack.request("POST", "/api/links", json={"url": url})
    assert response.status_code == 201, response.text
    return response.json()["code"]


def test_compose_config_validates(built_stack: Stack) -> None:
    built_stack.compose("config", "--quiet")
    # compose itself merges the one x-hardened block into every service
    config = json.loads(built_stack.compose("config", "--format", "json").stdout)
    for name, service in config["services"].items():
        assert service["cap_drop"] == ["ALL"], name
        assert service["security_opt"] == ["no-new-privileges:true"], name
        assert service.get("read_only", False) is (name != "grafana"), name


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


def test_the_tutorial_step_runs_as_written(built_stack: Stack, tmp_path) -> None:
    """Step 8 of the tutorial, as a reader types it in a fresh clone: .env from the example, up,
    the CA copied out, a request through nginx, a scale-up, down. On this tier's built images,
    as a project of its own on free ports; run before the other tests start their stack."""
    (step,) = tutorial.claim("8", "compose")
    copy = tutorial.reader_checkout(tmp_path / "repo", venv=False)
    https_port = free_port()
    env = {
        **built_stack.env,
        "COMPOSE_PROJECT_NAME": f"{built_stack.project}-tutorial",
        "IMAGE_TAG": IMAGE_TAG,  # the images this tier built: nothing is built again
        "HTTP_PORT": str(free_port()),
        "HTTPS_PORT": str(https_port),
        "EDITOR": str(tutorial.reader_editor(tmp_path)),
    }
    code = tutorial.adapt(step.code, "compose", https_port=https_port)
    started = time.monotonic()
    try:
        result = tutorial.run(code, cwd=copy, env=env, log=tmp_path / "step.log", timeout=900)
        tutorial.assert_as_promised(step, code, result, https_port=https_port)
    finally:
        # the step's own `down` keeps the volumes, as it says
        run(["docker", "compose", "down", "-v", "-t", "5"], cwd=copy, env=env, check=False)
    record_phase("docker: the tutorial's step 8", time.monotonic() - started)


def test_link_through_nginx_reaches_both_replicas(running_stack: Stack) -> None:
    code = _create_link(running_stack, "https://example.com/docker-tier")
    follow = running_stack.request("GET", f"/{code}", allow_redirects=False)
    assert follow.status_code == 302
    assert follow.headers["Location"] == "https://example.com/docker-tier"
    replicas = short_ids(running_stack.container_ids("app"))
    assert len(replicas) == 2
    assert running_stack.wait_for_served_by(replicas) == replicas


def test_static_files_are_served_by_nginx(running_stack: Stack) -> None:
    response = running_stack.request("GET", "/static/style.css")
    assert response.status_code == 200
    assert "X-Served-By" not in response.headers  # nginx answered, not an app replica
    assert response.text == (REPO / "app" / "static" / "style.css").read_text()


def test_https_with_the_generated_ca_and_plain_http_redirects(running_stack: Stack) -> None:
    reply = running_stack.request("GET", "/healthz")
    assert reply.status_code == 200
    assert reply.headers["Strict-Transport-Security"] == "max-age=63072000"
    # control: the certificate is not trusted without the project's generated CA
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(running_stack.url("/healthz"), timeout=10)
    plain = requests.get(running_stack.http_url("/abc?x=1"), allow_redirects=False, timeout=10)
    assert plain.status_code == 301
    assert plain.headers["Location"] == running_stack.url("/abc?x=1")
    health = requests.get(running_stack.http_url("/nginx-health"), timeout=10)
    assert health.status_code == 200  # the balancer's check stays on plain HTTP


def test_metrics_and_readyz_are_closed_at_the_edge(running_stack: Stack) -> None:
    # the default allow-list is nginx's own container: nobody outside it
    for path in ("/metrics", "/readyz"):
        reply = running_stack.request("GET", path)
        assert reply.status_code == 403, path
        assert reply.json()["error"]["code"] == "forbidden"
        assert "X-Served-By" not in reply.headers  # refused before any replica


def _proc_status(stack: Stack, service: str) -> dict[str, str]:
    """/proc/1/status of the service's container, as its own PID 1 sees it."""
    lines = stack.compose("exec", "-T", service, "cat", "/proc/1/status").stdout.splitlines()
    return dict(line.split(":\t", 1) for line in lines if ":\t" in line)


def test_backend_network_is_internal_and_data_services_are_locked_down(
    running_stack: Stack,
) -> None:
    project = running_stack.project
    networks = json.loads(
        run(
            ["docker", "network", "inspect", f"{project}_backend", f"{project}_frontend"],
            env=running_stack.env,
        ).stdout
    )
    internal = {network["Name"]: network["Internal"] for network in networks}
    assert internal == {f"{project}_backend": True, f"{project}_frontend": False}
    # no route out of the backend network
    # 192.0.2.1 (TEST-NET-1) is never routed anywhere: without a default route the connect
    # fails at once with "Network is unreachable" (with one it would time out instead)
    probe = "exec 3<>/dev/tcp/192.0.2.1/80"
    out = running_stack.compose("exec", "-T", "postgres", "bash", "-c", probe, check=False)
    assert "Network is unreachable" in out.stderr, out.stderr
    for service in ("postgres", "redis"):
        info = running_stack.inspect(running_stack.container_ids(service)[0])
        assert info["HostConfig"]["ReadonlyRootfs"] is True, service
        assert not info["HostConfig"].get("CapAdd"), service
        status = _proc_status(running_stack, service)
        assert status["CapEff"] == "0000000000000000", service  # no capability at all
        assert status["NoNewPrivs"] == "1", service
    # the Redis password is in no command line and no environment variable of its container
    password = dict(line.split("=", 1) for line in running_stack.env_file.read_text().splitlines())[
        "REDIS_PASSWORD"
    ]
    redis = running_stack.inspect(running_stack.container_ids("redis")[0])
    assert password not in json.dumps([redis["Config"], redis.get("Args")])
    cmdline = running_stack.compose("exec", "-T", "redis", "cat", "/proc/1/cmdline").stdout
    assert "redis-server" in cmdline and password not in cmdline


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
                response = running_stack.request(
                    "GET", f"/{code}", allow_redirects=False, timeout=15
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
    response = running_stack.request("GET", f"/api/links/{code}")
    assert response.status_code == 200
    assert response.json()["url"] == "https://example.com/persistent"


def test_down_v_removes_everything(running_stack: Stack) -> None:
    assert running_stack.leftovers()["containers"]
    running_stack.compose("down", "-v", "-t", "20")
    assert running_stack.leftovers() == {"containers": [], "volumes": [], "networks": []}
