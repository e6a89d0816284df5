"""Dependencies failing for real: Redis down degrades, PostgreSQL down answers 503 and recovers."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from urllib.parse import urlsplit

import pytest
from flask import Flask

from tests.support import pg
from tests.support.auth import ADMIN, bearer
from tests.support.flask_client import create_link
from tests.support.redis_server import RedisServer
from tests.support.tcp_proxy import TcpProxy


@pytest.fixture
def private_redis() -> Iterator[RedisServer]:
    with RedisServer() as server:
        yield server


@pytest.fixture
def database_proxy(
    database_url: str, make_app: Callable[..., Flask]
) -> Iterator[tuple[TcpProxy, str]]:
    # Depends on make_app so that apps are closed (clicks flushed) before the proxy goes.
    parts = urlsplit(database_url)
    with TcpProxy(parts.hostname or "127.0.0.1", parts.port or 5432) as proxy:
        yield proxy, database_url.replace(f":{parts.port}/", f":{proxy.port}/")


def test_redis_never_reachable_everything_works_and_readyz_says_degraded(
    make_app: Callable[..., Flask],
) -> None:
    client = make_app(REDIS_URL="redis://127.0.0.1:1/0").test_client()
    link = create_link(client, code="nocache")
    assert client.get("/nocache").status_code == 302
    assert len(client.get("/api/links", headers=ADMIN).get_json()["items"]) == 1
    # A delete needs Redis to tell every instance: refused, and nothing changes.
    owner = bearer(link["manage_token"])
    refused = client.delete(f"/api/links/{link['code']}", headers=owner)
    assert refused.status_code == 503
    assert refused.get_json()["error"]["code"] == "cache_unavailable"
    assert client.get("/nocache").status_code == 302
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.get_json()["status"] == "degraded"
    assert ready.get_json()["checks"]["cache"]["status"] == "degraded"


def test_redis_dying_mid_way_costs_no_read_error_and_no_stale_answer(
    make_app: Callable[..., Flask], private_redis: RedisServer
) -> None:
    a = make_app(REDIS_URL=private_redis.url, APP_INSTANCE="a")
    b = make_app(REDIS_URL=private_redis.url, APP_INSTANCE="b")
    flaky = create_link(a.test_client(), code="flaky")
    for _ in range(3):
        assert b.test_client().get("/flaky").status_code == 302  # b serves it from memory

    private_redis.stop()
    owner = bearer(flaky["manage_token"])
    # b could not be told: the delete is refused, and the link stays (served from PostgreSQL).
    assert a.test_client().delete("/api/links/flaky", headers=owner).status_code == 503
    for _ in range(3):
        assert b.test_client().get("/flaky").status_code == 302
    create_link(a.test_client(), code="during")
    assert b.test_client().get("/during").status_code == 302

    private_redis.start()
    time.sleep(2.1)  # the circuit breaker's pause, then the cache is used again
    assert b.test_client().get("/during").status_code == 302
    assert b.test_client().get("/readyz").get_json()["checks"]["cache"]["status"] == "ok"
    assert a.test_client().delete("/api/links/flaky", headers=owner).status_code == 204
    assert b.test_client().get("/flaky").status_code == 404


def test_postgres_down_answers_503_with_retry_after_then_recovers(
    make_app: Callable[..., Flask], database_proxy: tuple[TcpProxy, str]
) -> None:
    proxy, proxied_url = database_proxy
    app = make_app(DATABASE_URL=proxied_url)
    client = app.test_client()
    create_link(client, code="before")

    proxy.stop()
    response = client.post("/api/links", json={"url": "https://example.com/", "code": "during"})
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    assert response.get_json()["error"]["code"] == "database_unavailable"
    for path in ("/api/links", "/api/links/before"):
        assert client.get(path, headers=ADMIN).status_code == 503
    assert client.get("/readyz").status_code == 503
    assert client.get("/readyz").get_json()["checks"]["database"]["status"] == "unavailable"
    assert client.get("/healthz").status_code == 200  # alive: a restart would not help
    page = client.get("/links/before", headers={"Accept": "text/html"})
    assert page.status_code == 503
    assert page.mimetype == "text/html"
    # A redirect that memory cannot answer needs the database: the lean WSGI path hands its
    # error to Flask, which answers as for any page.
    followed = client.get("/before", headers={"Accept": "text/html"})
    assert followed.status_code == 503
    assert followed.headers["Retry-After"] == "5"
    assert followed.mimetype == "text/html"

    proxy.start()  # the database is back: same app object, no restart
    assert client.get("/readyz").status_code == 200
    assert client.get("/api/links/before").status_code == 200
    assert (
        client.post("/api/links", json={"url": "https://example.com/", "code": "after"}).status_code
        == 201
    )


def test_a_database_restart_costs_a_redirect_lookup_nothing(
    make_app: Callable[..., Flask], database_url: str
) -> None:
    """A restarted server has dropped every pooled connection. The lookup's first try finds
    its connection dead, the pool is renewed, and the retry on a new connection answers."""
    client = make_app().test_client()
    for code in ("first", "second"):
        create_link(client, code=code)
    assert client.get("/first").status_code == 302  # the lookup's pool holds a connection now
    with pg.connect(database_url, autocommit=True) as admin:
        ended = admin.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND application_name = 'flask-multitier'"
        ).fetchone()
    assert ended is not None and ended[0] >= 1
    assert client.get("/second").status_code == 302  # in no cache: read from the database
    assert client.get("/readyz").status_code == 200


def test_cached_redirects_keep_working_while_postgres_is_down(
    make_app: Callable[..., Flask], database_proxy: tuple[TcpProxy, str]
) -> None:
    proxy, proxied_url = database_proxy
    client = make_app(DATABASE_URL=proxied_url).test_client()
    create_link(client, code="survivor")
    client.get("/survivor")
    client.get("/survivor")
    proxy.stop()
    assert client.get("/survivor").status_code == 302
    proxy.start()
