"""The app's own rate limits on writes: per client address, shared by every instance through Redis,
answered 429 JSON with Retry-After, off with RATELIMIT_ENABLED=false."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.support.auth import bearer
from tests.support.flask_client import create_link, csrf_token

LIMITED = {"RATELIMIT_CREATE": "3/minute", "RATELIMIT_DELETE": "2/minute"}


def from_address(app: Flask, address: str) -> FlaskClient:
    """A client whose requests come through the proxy from `address` (ProxyFix applies it)."""
    client = app.test_client()
    client.environ_base["HTTP_X_FORWARDED_FOR"] = address
    return client


def post_link(client: FlaskClient) -> int:
    return client.post("/api/links", json={"url": "https://example.com/"}).status_code


def spent(app: Flask, address: str) -> FlaskClient:
    """A client at `address` that has just created as many links as LIMITED allows."""
    client = from_address(app, address)
    assert [post_link(client) for _ in range(3)] == [201, 201, 201]
    return client


def test_creation_is_limited_per_client_with_429_json_and_retry_after(
    make_app: Callable[..., Flask],
) -> None:
    app = make_app(**LIMITED)
    client = spent(app, "203.0.113.7")
    refused = client.post("/api/links", json={"url": "https://example.com/"})
    assert refused.status_code == 429
    assert refused.get_json()["error"]["code"] == "rate_limited"
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    # Another client has its own allowance; reads are never limited.
    assert post_link(from_address(app, "203.0.113.8")) == 201
    assert all(client.get("/api/links/none").status_code == 404 for _ in range(10))


def test_the_form_and_the_api_share_one_allowance_and_browsers_get_a_page(
    make_app: Callable[..., Flask],
) -> None:
    client = spent(make_app(**LIMITED), "203.0.113.9")
    token = csrf_token(client.get("/").get_data(as_text=True))
    page = client.post(
        "/",
        data={"url": "https://example.com/", "csrf_token": token},
        headers={"Accept": "text/html"},
    )
    assert page.status_code == 429
    assert page.mimetype == "text/html"
    assert "Retry-After" in page.headers


def test_deletes_are_limited_too(make_app: Callable[..., Flask]) -> None:
    app = make_app(**LIMITED)
    client = from_address(app, "203.0.113.10")
    wrong = bearer("not-a-token")
    statuses = [client.delete("/api/links/nothing", headers=wrong).status_code for _ in range(3)]
    assert statuses == [404, 404, 429]


def test_instances_share_the_count_through_redis(make_app: Callable[..., Flask]) -> None:
    a, b = make_app(APP_INSTANCE="a", **LIMITED), make_app(APP_INSTANCE="b", **LIMITED)
    address = "203.0.113.11"
    statuses = [post_link(from_address(app, address)) for app in (a, b, a, b)]
    assert statuses == [201, 201, 201, 429]


def test_a_forged_forwarded_for_does_not_buy_a_new_allowance(
    make_app: Callable[..., Flask],
) -> None:
    # nginx appends the address it saw; only that last one is trusted (ProxyFix x_for=1).
    app = make_app(**LIMITED)
    statuses = [post_link(from_address(app, f"198.51.100.{n}, 203.0.113.12")) for n in range(4)]
    assert statuses == [201, 201, 201, 429]


def test_limits_can_be_turned_off_for_a_load_test(make_app: Callable[..., Flask]) -> None:
    client = from_address(make_app(RATELIMIT_ENABLED=False, **LIMITED), "203.0.113.13")
    assert {post_link(client) for _ in range(10)} == {201}


def test_without_redis_the_limits_still_hold_in_memory(make_app: Callable[..., Flask]) -> None:
    client = from_address(make_app(REDIS_URL="redis://127.0.0.1:1/0", **LIMITED), "203.0.113.14")
    assert [post_link(client) for _ in range(4)] == [201, 201, 201, 429]


@pytest.mark.parametrize("name", ["RATELIMIT_CREATE", "RATELIMIT_DELETE"])
def test_a_bad_limit_is_refused_at_start(make_app: Callable[..., Flask], name: str) -> None:
    from app.config import ConfigError

    with pytest.raises(ConfigError) as error:
        make_app(**{name: "lots"})
    assert f"{name}: 'lots' is not a rate limit" in str(error.value)


def test_created_links_under_the_limit_are_all_kept(make_app: Callable[..., Flask]) -> None:
    client = from_address(make_app(**LIMITED), "203.0.113.15")
    codes = [create_link(client)["code"] for _ in range(3)]
    assert [client.get(f"/{code}").status_code for code in codes] == [302, 302, 302]


def test_reads_never_reach_the_limiter(
    make_app: Callable[..., Flask], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The redirect is the hot path: only the limited write views may consult the limiter."""
    app = make_app(**LIMITED)
    client = from_address(app, "203.0.113.16")
    code = create_link(client)["code"]
    strategy = app.extensions["rate_limiter"].limiter
    calls: list[str] = []
    for method in ("hit", "test", "get_window_stats"):
        original = getattr(strategy, method)
        monkeypatch.setattr(
            strategy,
            method,
            lambda *a, _o=original, _m=method, **k: calls.append(_m) or _o(*a, **k),
        )
    for path in (f"/{code}", f"/api/links/{code}", "/", f"/links/{code}", "/healthz"):
        assert client.get(path).status_code in {200, 302}, path
    assert calls == []
    assert post_link(client) == 201
    assert calls  # the control: a write does consult it
