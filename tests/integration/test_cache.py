"""The cache layer: cache-aside, the zero-round-trip hit path, and invalidation across instances."""

from __future__ import annotations

import time
from collections.abc import Callable

import redis
from flask import Flask

from app.cache import RedisCache
from bench.statements import counting_statements
from tests.support.auth import ADMIN
from tests.support.cache_probe import counting, wait_for_memory
from tests.support.flask_client import create_link


def test_miss_fills_redis_then_hits_cost_no_round_trip(app: Flask, redis_url: str) -> None:
    client = app.test_client()
    create_link(client, url="https://example.com/cached", code="hot")
    cache: RedisCache = app.extensions["links"].cache
    raw = redis.Redis.from_url(redis_url, decode_responses=True)

    with counting(app) as first:
        assert client.get("/hot").status_code == 302
    assert first["sql"] == 1  # the miss reads PostgreSQL once...
    assert raw.get(cache.url_key("hot")) == "https://example.com/cached"  # ...and fills Redis
    assert 0 < raw.ttl(cache.url_key("hot")) <= 3600
    # Memory is trusted once the invalidation channel has proved itself, asynchronously; until
    # then a lookup reads Redis, and fills memory.
    wait_for_memory(app)
    with counting(app) as warming:
        client.get("/hot")
    assert warming["sql"] == 0
    assert warming["redis"] <= 1

    with counting(app) as hits:
        for _ in range(5):
            assert client.get("/hot").headers["Location"] == "https://example.com/cached"
    assert hits == {"sql": 0, "redis": 0}


def test_a_miss_runs_the_lookup_postgresql_planned_once_per_connection(app: Flask) -> None:
    client = app.test_client()
    create_link(client, code="planned")
    with counting_statements(app.extensions["links"].db.engines()) as sent:
        assert client.get("/planned").status_code == 302
    assert sent == {"EXECUTE": 1}  # PREPAREd when the connection was opened


def test_another_instance_fills_from_redis_without_the_database(
    make_app: Callable[..., Flask],
) -> None:
    a, b = make_app(APP_INSTANCE="a"), make_app(APP_INSTANCE="b")
    create_link(a.test_client(), url="https://example.com/shared", code="shared")
    a.test_client().get("/shared")  # fills Redis
    with counting(b) as seen:
        assert b.test_client().get("/shared").status_code == 302
    assert seen == {"sql": 0, "redis": 1}


def test_a_fill_after_redis_forgot_its_scripts_still_fills(app: Flask, redis_url: str) -> None:
    # A restarted Redis (or SCRIPT FLUSH) has no fill script under its digest: the fill then
    # sends the script's text. Without that, the refusal would open the breaker, fill nothing.
    client = app.test_client()
    cache: RedisCache = app.extensions["links"].cache
    raw = redis.Redis.from_url(redis_url, decode_responses=True)
    create_link(client, url="https://example.com/forgot", code="forgot")
    raw.script_flush()
    assert client.get("/forgot").status_code == 302
    assert raw.get(cache.url_key("forgot")) == "https://example.com/forgot"
    assert time.monotonic() >= cache._down_until  # the breaker stayed shut


def test_delete_through_one_instance_is_seen_by_every_other(make_app: Callable[..., Flask]) -> None:
    a, b, c = (make_app(APP_INSTANCE=name) for name in "abc")
    create_link(a.test_client(), code="bye")
    wait_for_memory(a, b, c)
    for instance in (a, b, c):
        instance.test_client().get("/bye")
    for instance in (a, b, c):  # every instance now serves it from memory
        with counting(instance) as seen:
            assert instance.test_client().get("/bye").status_code == 302
        assert seen == {"sql": 0, "redis": 0}
    assert a.test_client().delete("/api/links/bye", headers=ADMIN).status_code == 204
    for instance in (b, c, a):  # at once: the message is read before memory answers
        assert instance.test_client().get("/bye").status_code == 404


def test_a_fill_racing_a_delete_cannot_resurrect_the_link(make_app: Callable[..., Flask]) -> None:
    a, b = make_app(APP_INSTANCE="a"), make_app(APP_INSTANCE="b")
    create_link(a.test_client(), url="https://example.com/old", code="racy")
    cache_b: RedisCache = b.extensions["links"].cache

    def load_then_get_deleted(code: str) -> str:
        # b read the row just before a deleted it: the classic cache-aside race.
        assert a.test_client().delete(f"/api/links/{code}", headers=ADMIN).status_code == 204
        return "https://example.com/old"

    assert cache_b.resolve("racy", load_then_get_deleted) == "https://example.com/old"
    for instance in (a, b):
        assert instance.test_client().get("/racy").status_code == 404


def test_a_deleted_code_is_never_served_again_by_any_instance(
    make_app: Callable[..., Flask],
) -> None:
    a, b = make_app(APP_INSTANCE="a"), make_app(APP_INSTANCE="b")
    create_link(a.test_client(), url="https://example.com/v1", code="again")
    assert b.test_client().get("/again").status_code == 302  # b now has it in memory
    assert a.test_client().delete("/api/links/again", headers=ADMIN).status_code == 204
    retaken = a.test_client().post(
        "/api/links", json={"url": "https://evil.example/", "code": "again"}
    )
    assert retaken.status_code == 409
    for instance in (a, b):
        assert instance.test_client().get("/again").status_code == 404


def test_local_level_is_rebuilt_after_the_subscription_drops(app: Flask) -> None:
    client = app.test_client()
    create_link(client, code="resub")
    client.get("/resub")
    wait_for_memory(app)
    cache: RedisCache = app.extensions["links"].cache
    cache._local._pubsub.connection.disconnect()  # what a Redis restart looks like from here
    with counting(app) as seen:
        assert client.get("/resub").status_code == 302
    assert seen["sql"] + seen["redis"] >= 1  # memory was not trusted while unsubscribed
    wait_for_memory(app)  # a new subscription proves itself
    client.get("/resub")
    with counting(app) as again:
        client.get("/resub")
        client.get("/resub")
    assert again == {"sql": 0, "redis": 0}


def test_without_redis_the_in_process_cache_serves(make_app: Callable[..., Flask]) -> None:
    app = make_app(REDIS_URL=None)
    client = app.test_client()
    create_link(client, code="local")
    assert client.get("/local").status_code == 302
    with counting(app) as seen:
        assert client.get("/local").status_code == 302
    assert seen == {"sql": 0, "redis": 0}
    client.delete("/api/links/local", headers=ADMIN)
    assert client.get("/local").status_code == 404
    assert client.get("/readyz").get_json()["checks"]["cache"]["backend"] == "in-process"
