"""The redirect's WSGI path (app/fast_redirect.py) answers exactly as the Flask view does, from
memory (a hit) and from Redis or the database (a miss)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
from flask import Flask
from prometheus_client import REGISTRY

from tests.support.auth import ADMIN
from tests.support.cache_probe import counting, wait_for_memory
from tests.support.flask_client import create_link

IGNORED = {"X-Request-ID"}  # made per request
URL = {"url": "https://example.com/"}


def served_without_flask(app: Flask) -> None:
    """Make the Flask view fail: any answer still given came from the WSGI path."""

    def refuse(**_kwargs: object) -> None:
        raise AssertionError("the Flask view ran")

    app.view_functions["web.follow"] = refuse


@contextmanager
def flask_only(app: Flask) -> Iterator[None]:
    """Requests skip the WSGI path (ProxyFix hands them straight to Flask) while the block runs."""
    proxy_fix = app.wsgi_app
    fast = proxy_fix.app  # type: ignore[attr-defined]
    proxy_fix.app = fast.next_app  # type: ignore[attr-defined]
    try:
        yield
    finally:
        proxy_fix.app = fast  # type: ignore[attr-defined]


def warm(app: Flask, code: str) -> None:
    wait_for_memory(app)
    for _ in range(3):
        app.test_client().get(f"/{code}")


def hits(method: str) -> float:
    labels = {"method": method, "endpoint": "/<code>", "status": "302"}
    return REGISTRY.get_sample_value("http_requests_total", labels) or 0.0


@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_a_redirect_answers_as_the_view_does_on_a_miss_and_on_a_hit(
    app: Flask, method: str
) -> None:
    client = app.test_client()
    target = "https://example.com/same?q=1"
    create_link(client, url=target, code="viewed")
    create_link(client, url=target, code="same")
    with flask_only(app):
        by_view = client.open("/viewed", method=method)  # a miss, answered by the Flask view
    served_without_flask(app)
    answers = []
    for _ in range(2):  # a miss (Redis, then the database), then a hit once memory answers
        before = hits(method)
        answers.append(
            client.open(
                "/same", method=method, headers={"X-Request-ID": "req-42"}, query_string="utm=1"
            )
        )
        assert hits(method) == before + 1  # counted with the view's labels
        warm(app, "same")
    for answer in answers:
        assert answer.status == by_view.status == "302 FOUND"
        assert {k: v for k, v in answer.headers if k not in IGNORED} == {
            k: v for k, v in by_view.headers if k not in IGNORED
        }
        assert answer.headers["Location"] == target
        assert answer.headers["X-Request-ID"] == "req-42"  # a valid incoming id is kept
        assert answer.data == b""


def test_a_redirect_counts_the_click_on_a_miss_and_on_a_hit(app: Flask) -> None:
    client = app.test_client()
    create_link(client, code="clicked")
    served_without_flask(app)
    links = app.extensions["links"]
    with links.clicks.settled():  # no background flush drains the counts while they are read
        assert client.get("/clicked").status_code == 302  # a miss
        warm(app, "clicked")
        before = links.clicks.pending("clicked")
        assert before >= 4  # the miss and the warm-up's
        for _ in range(4):
            assert client.get("/clicked").status_code == 302
        assert links.clicks.pending("clicked") == before + 4


def test_a_bad_request_id_is_replaced_on_a_miss_and_on_a_hit(app: Flask) -> None:
    client = app.test_client()
    create_link(client, code="ids")
    served_without_flask(app)
    for _ in range(2):  # a miss, then a hit
        answer = client.get("/ids", headers={"X-Request-ID": "bad id\x7f"})
        assert answer.status_code == 302
        assert len(answer.headers["X-Request-ID"]) == 32
        warm(app, "ids")


def test_a_foreign_host_is_refused_for_a_cached_code_and_for_a_miss(
    make_app: Callable[..., Flask],
) -> None:
    app = make_app(ALLOWED_HOSTS="short.example")
    client = app.test_client()
    own, foreign = "http://short.example", "http://evil.example"
    for code in ("guarded", "cold"):
        created = client.post("/api/links", json={"code": code} | URL, base_url=own)
        assert created.status_code == 201
    wait_for_memory(app)
    for _ in range(3):
        client.get("/guarded", base_url=own)
    served_without_flask(app)
    assert client.get("/guarded", base_url=own).status_code == 302
    # Not answered here: Flask's host check refuses it before any view runs, and no lookup is
    # made for a foreign host.
    with counting(app) as seen:
        assert client.get("/guarded", base_url=foreign).status_code == 400
        assert client.get("/cold", base_url=foreign).status_code == 400
    assert seen == {"sql": 0, "redis": 0}
    assert client.get("/cold", base_url=own).status_code == 302


def test_unknown_and_retired_codes_get_the_views_404_after_one_lookup(app: Flask) -> None:
    client = app.test_client()
    create_link(client, code="retired")
    assert client.delete("/api/links/retired", headers=ADMIN).status_code == 204
    with flask_only(app):
        by_view = client.get("/missing-code", headers={"Accept": "text/html"})
    assert by_view.status_code == 404
    for code in ("missing-code", "retired"):
        with counting(app) as seen:
            answer = client.get(f"/{code}", headers={"Accept": "text/html"})
        assert answer.status_code == 404
        assert answer.get_data() == by_view.get_data()  # Flask's own 404 page
        assert seen["sql"] == 1  # looked up once, in the WSGI path; the view did not repeat it


def test_paths_flask_routes_elsewhere_are_never_taken_as_codes(app: Flask) -> None:
    client = app.test_client()
    served_without_flask(app)
    assert client.get("/healthz").status_code == 200
    assert client.post("/api/links", json={"url": "https://example.com/"}).status_code == 201
