"""What the shared nginx policy does, checked against a running 3-instance stack."""

from __future__ import annotations

import time
from pathlib import Path

from stack.nginx import APP_ROOT
from stack.state import State
from tests.support.auth import ADMIN, bearer
from tests.support.http_client import call
from tests.support.stacks import StackFactory, unique

MIB = 1024 * 1024


def _wait_for_line(paths: list[Path], needle: str, timeout: float = 5.0) -> bool:
    """nginx buffers its access log (flush=1s): poll the files for a bounded time."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for path in paths:
            if path.exists() and needle in path.read_text(errors="replace"):
                return True
        time.sleep(0.2)
    return False


def _app_logs(stack: State) -> list[Path]:
    return [stack.state_dir / "logs" / f"{i.name}.log" for i in stack.instances]


def test_requests_spread_over_every_instance(stack: State) -> None:
    served = [call(stack.url, "GET", "/healthz") for _ in range(30)]
    assert all(reply.status == 200 for reply in served)
    assert {reply.served_by for reply in served} == {i.name for i in stack.instances}


def test_nginx_health_is_answered_by_nginx_alone(stack: State) -> None:
    reply = call(stack.url, "GET", "/nginx-health")
    assert reply.status == 200
    assert reply.json()["status"] == "ok"
    assert reply.served_by is None  # no app instance was involved


def test_request_id_is_passed_through_or_made(stack: State) -> None:
    mine = unique("req-")
    kept = call(stack.url, "GET", "/healthz", headers={"X-Request-ID": mine})
    assert kept.headers["x-request-id"] == mine
    # A value that could forge log lines is replaced by nginx's own 32-hex id.
    replaced = call(stack.url, "GET", "/healthz", headers={"X-Request-ID": 'x" y'})
    assert len(replaced.headers["x-request-id"]) == 32
    made = call(stack.url, "GET", "/healthz")
    assert len(made.headers["x-request-id"]) == 32
    assert made.headers["x-request-id"] != replaced.headers["x-request-id"]


def test_security_headers_on_app_and_nginx_responses(stack: State) -> None:
    for path in ("/healthz", "/nginx-health", "/static/style.css"):
        reply = call(stack.url, "GET", path)
        assert reply.headers.get("x-content-type-options") == "nosniff", path
        assert reply.headers.get("x-frame-options") == "DENY", path
        assert "referrer-policy" in reply.headers, path


def test_static_files_are_served_by_nginx_not_the_app(stack: State) -> None:
    request_id = unique("static-")
    reply = call(stack.url, "GET", "/static/style.css", headers={"X-Request-ID": request_id})
    assert reply.status == 200
    assert reply.body == (APP_ROOT / "static" / "style.css").read_bytes()
    assert reply.served_by is None
    assert "max-age=2592000" in reply.headers.get("cache-control", "")
    # Control: a proxied request's id does reach an app log, so the check below can fail.
    proxied_id = unique("proxied-")
    assert call(stack.url, "GET", "/healthz", headers={"X-Request-ID": proxied_id}).status == 200
    assert _wait_for_line(_app_logs(stack), proxied_id)
    nginx_log = stack.state_dir / "logs" / "nginx.access.json"
    assert _wait_for_line([nginx_log], request_id)
    assert not _wait_for_line(_app_logs(stack), request_id, timeout=1.0)


def test_missing_static_file_is_nginx_404(stack: State) -> None:
    reply = call(stack.url, "GET", "/static/no-such-file.css")
    assert reply.status == 404
    assert reply.served_by is None


def test_gzip_for_text_assets(stack: State) -> None:
    reply = call(stack.url, "GET", "/static/style.css", headers={"Accept-Encoding": "gzip"})
    assert reply.status == 200
    assert reply.headers.get("content-encoding") == "gzip"


def test_oversized_body_gets_413_json_from_nginx(stack: State) -> None:
    body = b"x" * (MIB + 1)
    reply = call(
        stack.url, "POST", "/api/links", body=body, headers={"Content-Type": "application/json"}
    )
    assert reply.status == 413
    assert reply.json()["error"]["code"] == "payload_too_large"
    assert reply.served_by is None
    # At the limit the body goes through to the app, which judges the content itself.
    at_limit = call(
        stack.url,
        "POST",
        "/api/links",
        body=b" " * MIB,
        headers={"Content-Type": "application/json"},
    )
    assert at_limit.status != 413
    assert at_limit.served_by is not None


def test_write_flood_gets_429_json_and_reads_are_not_limited(stack: State) -> None:
    try:
        replies = [
            call(stack.url, "POST", "/api/links", body={"url": "not a url"}) for _ in range(60)
        ]
        limited = [reply for reply in replies if reply.status == 429]
        assert limited, sorted({reply.status for reply in replies})
        assert limited[0].json()["error"]["code"] == "rate_limited"
        assert limited[0].headers.get("retry-after") == "1"
        assert limited[0].served_by is None
        reads = [call(stack.url, "GET", "/api/links", headers=ADMIN) for _ in range(60)]
        assert {reply.status for reply in reads} == {200}
    finally:
        # Let the bucket refill (10 r/s, burst 20) so later tests of this stack can write.
        time.sleep(2.5)


def test_deleted_link_is_never_redirected_by_any_instance(stack: State) -> None:
    code = unique("del")
    created = call(
        stack.url, "POST", "/api/links", body={"url": "https://example.com/gone", "code": code}
    )
    assert created.status == 201, created.body
    # Warm both cache levels on every instance, directly and through nginx.
    for instance in stack.instances:
        for _ in range(3):
            warm = call(f"http://127.0.0.1:{instance.port}", "GET", f"/{code}")
            assert warm.status == 302, (instance.name, warm.status)
    owner = bearer(created.json()["manage_token"])
    deleted = call(stack.url, "DELETE", f"/api/links/{code}", headers=owner)
    assert deleted.status == 204
    after = [call(stack.url, "GET", f"/{code}") for _ in range(30)]
    for instance in stack.instances:
        after += [call(f"http://127.0.0.1:{instance.port}", "GET", f"/{code}") for _ in range(10)]
    assert {reply.status for reply in after} == {404}
    assert {reply.served_by for reply in after} == {i.name for i in stack.instances}


def test_write_limit_can_be_turned_off_for_benchmarks(make_stack: StackFactory) -> None:
    state = make_stack(instances=1, write_rate="off")
    replies = [call(state.url, "POST", "/api/links", body={"url": "not a url"}) for _ in range(60)]
    assert 429 not in {reply.status for reply in replies}
    assert all(reply.served_by == "app-1" for reply in replies)  # every one reached the app


def test_short_urls_use_the_scheme_host_and_port_the_client_used(stack: State) -> None:
    code = unique("s")
    created = call(
        stack.url, "POST", "/api/links", body={"url": "https://example.com/", "code": code}
    )
    assert created.status == 201, created.body
    assert created.json()["short_url"] == f"{stack.url}/{code}"
    # Behind a port forward the client's Host header names the outside port: the link follows it.
    forwarded = call(
        stack.url, "GET", f"/api/links/{code}", headers={"Host": "links.example:18080"}
    )
    assert forwarded.json()["short_url"] == f"http://links.example:18080/{code}"
    # A Host the app does not answer to is refused, so no link is ever built on it.
    forged = call(stack.url, "GET", f"/api/links/{code}", headers={"Host": "evil.example"})
    assert forged.status == 400
    assert forged.json()["error"]["code"] == "bad_request"
