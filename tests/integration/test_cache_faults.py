"""The cache's guarantee against a misbehaving Redis: once a delete is acknowledged, no instance
redirects the code more than 1 s later; a delete Redis cannot confirm changes nothing.

Each test runs app objects (instances sharing PostgreSQL) against a private redis-server it may
kill, pause or restart, some behind a TCP proxy that can cut them off.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from flask import Flask

from app.cache import INVALIDATION_WAIT_SECONDS, REDIS_RETRY_AFTER_SECONDS
from app.local_cache import LEASE_SECONDS
from tests.support.auth import ADMIN
from tests.support.cache_probe import counting, wait_for_memory
from tests.support.redis_server import RedisServer
from tests.support.tcp_proxy import TcpProxy


@pytest.fixture
def servers() -> Iterator[Callable[..., RedisServer]]:
    """Start private redis-servers; every one is killed at the end."""
    with ExitStack() as started:
        yield lambda **options: started.enter_context(RedisServer(**options))


@pytest.fixture
def proxies() -> Iterator[Callable[[RedisServer], TcpProxy]]:
    """Start proxies in front of redis-servers; every one is stopped at the end."""
    with ExitStack() as started:
        yield lambda server: started.enter_context(TcpProxy("127.0.0.1", server.port))


def via(proxy: TcpProxy) -> str:
    return f"redis://127.0.0.1:{proxy.port}/0"


def create(app: Flask, code: str, url: str = "https://example.com/target") -> None:
    response = app.test_client().post("/api/links", json={"url": url, "code": code})
    assert response.status_code == 201, response.get_json()


def follow(app: Flask, code: str) -> int:
    return app.test_client().get(f"/{code}").status_code


def warm(app: Flask, code: str) -> None:
    """Until `app` answers `code` from memory, with no round trip."""
    wait_for_memory(app)
    follow(app, code)
    with counting(app) as seen:
        assert follow(app, code) == 302
    assert seen == {"sql": 0, "redis": 0}


def test_an_instance_cut_off_from_redis_stops_answering_from_memory(
    make_app: Callable[..., Flask],
    servers: Callable[..., RedisServer],
    proxies: Callable[[RedisServer], TcpProxy],
) -> None:
    redis_server = servers()
    proxy = proxies(redis_server)
    near = make_app(APP_INSTANCE="near", REDIS_URL=redis_server.url)
    far = make_app(APP_INSTANCE="far", REDIS_URL=via(proxy))
    create(near, "cutoff")
    warm(far, "cutoff")

    proxy.cut()  # a partition: far's sockets stay open, nothing reaches it any more
    assert near.test_client().delete("/api/links/cutoff", headers=ADMIN).status_code == 204
    time.sleep(LEASE_SECONDS + 0.05)
    # Its subscription never said a word, but memory is off: the lease ran out.
    assert not far.extensions["links"].cache.serves_from_memory()
    assert follow(far, "cutoff") == 404
    assert follow(near, "cutoff") == 404

    proxy.restore()
    wait_for_memory(far)
    assert follow(far, "cutoff") == 404


def test_a_delete_redis_cannot_confirm_changes_nothing(
    make_app: Callable[..., Flask], servers: Callable[..., RedisServer]
) -> None:
    redis_server = servers()
    app = make_app(REDIS_URL=redis_server.url)
    create(app, "kept")
    warm(app, "kept")
    redis_server.stop()

    started = time.monotonic()
    response = app.test_client().delete("/api/links/kept", headers=ADMIN)
    waited = time.monotonic() - started
    assert response.status_code == 503, response.get_json()
    assert response.get_json()["error"]["code"] == "cache_unavailable"
    assert response.headers["Retry-After"].isdigit()
    assert INVALIDATION_WAIT_SECONDS - 0.5 <= waited  # it waited for Redis before refusing
    assert app.test_client().get("/api/links/kept").status_code == 200  # the link is still there
    assert follow(app, "kept") == 302

    redis_server.start()  # a new process, its memory empty
    assert app.test_client().delete("/api/links/kept", headers=ADMIN).status_code == 204
    assert follow(app, "kept") == 404


def test_a_delete_rides_out_a_short_hang(
    make_app: Callable[..., Flask], servers: Callable[..., RedisServer]
) -> None:
    redis_server = servers()
    a = make_app(APP_INSTANCE="a", REDIS_URL=redis_server.url)
    b = make_app(APP_INSTANCE="b", REDIS_URL=redis_server.url)
    create(a, "paused")
    warm(b, "paused")

    redis_server.pause()
    statuses: list[int] = []
    deleting = threading.Thread(
        target=lambda: statuses.append(
            a.test_client().delete("/api/links/paused", headers=ADMIN).status_code
        )
    )
    deleting.start()
    time.sleep(1.0)
    assert statuses == []  # still waiting for Redis to confirm
    redis_server.resume()
    deleting.join(timeout=10)
    assert statuses == [204]
    assert follow(b, "paused") == 404
    assert follow(a, "paused") == 404


def _still_404_after_reconnecting(app: Flask, code: str) -> None:
    """Lookups over the breaker's pause: the app must reach the new Redis and still say 404."""
    deadline = time.monotonic() + REDIS_RETRY_AFTER_SECONDS + 2
    reached_redis = False
    while time.monotonic() < deadline:
        with counting(app) as seen:
            assert follow(app, code) == 404
        reached_redis = reached_redis or seen["redis"] > 0
        time.sleep(0.1)
    assert reached_redis


def test_a_redis_restarted_from_its_snapshot_cannot_bring_a_deleted_link_back(
    make_app: Callable[..., Flask], servers: Callable[..., RedisServer], tmp_path: Path
) -> None:
    redis_server = servers(data_dir=tmp_path)
    app = make_app(REDIS_URL=redis_server.url)
    create(app, "phoenix", "https://example.com/stale")
    warm(app, "phoenix")
    cache = app.extensions["links"].cache
    key = cache.url_key("phoenix")
    redis_server.client().save()  # the snapshot still holds the link's cached URL

    assert app.test_client().delete("/api/links/phoenix", headers=ADMIN).status_code == 204
    redis_server.stop()  # a crash: what the snapshot has is what comes back
    redis_server.start()
    assert redis_server.client().get(key) == "https://example.com/stale"

    _still_404_after_reconnecting(app, "phoenix")
    assert cache.url_key("phoenix") != key  # keys are now named for the new process


def test_a_failover_to_a_replica_that_missed_the_delete_serves_nothing_stale(
    make_app: Callable[..., Flask],
    servers: Callable[..., RedisServer],
    proxies: Callable[[RedisServer], TcpProxy],
) -> None:
    primary = servers()
    replica = servers(replica_of=primary)
    endpoint = proxies(primary)  # the address the app knows, as a managed service's DNS name
    app = make_app(REDIS_URL=via(endpoint))
    create(app, "failover", "https://example.com/stale")
    warm(app, "failover")
    key = app.extensions["links"].cache.url_key("failover")
    deadline = time.monotonic() + 10
    while replica.client().get(key) is None:
        assert time.monotonic() < deadline, "the replica never received the cached URL"
        time.sleep(0.05)

    # Replication lag, made certain: the replica stops following before the delete, and is
    # promoted with the deleted link's URL still in it.
    replica.client().replicaof("NO", "ONE")
    assert app.test_client().delete("/api/links/failover", headers=ADMIN).status_code == 204
    primary.stop()
    endpoint.stop()
    endpoint.target = ("127.0.0.1", replica.port)
    endpoint.start()
    assert replica.client().get(key) == "https://example.com/stale"

    _still_404_after_reconnecting(app, "failover")


def test_a_redis_process_that_appears_during_a_delete_is_told_too(
    make_app: Callable[..., Flask], servers: Callable[..., RedisServer]
) -> None:
    redis_server = servers()
    cache = make_app(REDIS_URL=redis_server.url).extensions["links"].cache
    with cache.invalidating("midway"):  # while the row is being deleted...
        redis_server.stop()  # ...Redis restarts empty, and the app meets the new process
        redis_server.start()
        deadline = time.monotonic() + 10
        while cache.status()["status"] != "ok":
            assert time.monotonic() < deadline, "the app never reconnected"
    # Its tombstone refuses a fill by any read that still saw the row.
    assert redis_server.client().exists(cache.tombstone_key("midway"))
