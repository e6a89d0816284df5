"""The cached redirect's WSGI path (app/fast_redirect.py) answers exactly as the Flask view does."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask
from prometheus_client import REGISTRY

from tests.support.cache_probe import wait_for_memory
from tests.support.flask_client import create_link

IGNORED = {"X-Request-ID"}  # made per request
URL = {"url": "https://example.com/"}


def served_without_flask(app: Flask) -> None:
    """Make the Flask view fail: any answer still given came from the cached path."""

    def refuse(**_kwargs: object) -> None:
        raise AssertionError("the Flask view ran")

    app.view_functions["web.follow"] = refuse


def warm(app: Flask, code: str) -> None:
    wait_for_memory(app)
    for _ in range(3):
        app.test_client().get(f"/{code}")


def hits(method: str) -> float:
    labels = {"method": method, "endpoint": "/<code>", "status": "302"}
    return REGISTRY.get_sample_value("http_requests_total", labels) or 0.0


@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_a_cached_redirect_answers_as_the_view_does(app: Flask, method: str) -> None:
    client = app.test_client()
    create_link(client, url="https://example.com/same?q=1", code="same")
    by_view = client.open("/same", method=method)  # a miss: the Flask view answers
    warm(app, "same")
    served_without_flask(app)
    before = hits(method)
    cached = client.open(
        "/same", method=method, headers={"X-Request-ID": "req-42"}, query_string="utm=1"
    )
    assert cached.status == by_view.status == "302 FOUND"
    assert {k: v for k, v in cached.headers if k not in IGNORED} == {
        k: v for k, v in by_view.headers if k not in IGNORED
    }
    assert cached.headers["Location"] == "https://example.com/same?q=1"
    assert cached.headers["X-Request-ID"] == "req-42"  # a valid incoming id is kept
    assert cached.data == b""
    assert hits(method) == before + 1  # counted with the view's labels


def test_a_cached_redirect_counts_the_click(app: Flask) -> None:
    client = app.test_client()
    create_link(client, code="clicked")
    warm(app, "clicked")
    served_without_flask(app)
    links = app.extensions["links"]
    before = links.clicks.pending("clicked")
    for _ in range(4):
        assert client.get("/clicked").status_code == 302
    assert links.clicks.pending("clicked") == before + 4


def test_a_bad_request_id_is_replaced(app: Flask) -> None:
    client = app.test_client()
    create_link(client, code="ids")
    warm(app, "ids")
    served_without_flask(app)
    answer = client.get("/ids", headers={"X-Request-ID": "bad id\x7f"})
    assert answer.status_code == 302
    assert len(answer.headers["X-Request-ID"]) == 32


def test_a_foreign_host_is_refused_even_for_a_cached_code(
    make_app: Callable[..., Flask],
) -> None:
    app = make_app(ALLOWED_HOSTS="short.example")
    client = app.test_client()
    own, foreign = "http://short.example", "http://evil.example"
    created = client.post("/api/links", json={"code": "guarded"} | URL, base_url=own)
    assert created.status_code == 201
    wait_for_memory(app)
    for _ in range(3):
        client.get("/guarded", base_url=own)
    served_without_flask(app)
    assert client.get("/guarded", base_url=own).status_code == 302
    # Not answered from memory: Flask's host check refuses it before any view runs.
    assert client.get("/guarded", base_url=foreign).status_code == 400


def test_paths_flask_routes_elsewhere_are_never_taken_as_codes(app: Flask) -> None:
    client = app.test_client()
    assert client.get("/healthz").status_code == 200
    assert client.get("/missing-code").status_code == 404  # unknown: Flask's 404 page
    assert client.post("/api/links", json={"url": "https://example.com/"}).status_code == 201
