"""Click counts: exact across instances, and kept through restarts of the app and of Redis."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from flask import Flask

from tests.support.flask_client import create_link
from tests.support.services import clicks_in_db


def test_concurrent_redirects_on_several_instances_lose_no_click(
    make_app: Callable[..., Flask], database_url: str
) -> None:
    instances = [make_app(APP_INSTANCE=f"i{n}") for n in range(3)]
    create_link(instances[0].test_client(), code="popular")
    per_thread, threads_per_instance = 60, 4
    start = threading.Barrier(len(instances) * threads_per_instance)

    def hammer(app: Flask) -> None:
        client = app.test_client()
        start.wait()
        for _ in range(per_thread):
            assert client.get("/popular").status_code == 302

    threads = [
        threading.Thread(target=hammer, args=(app,))
        for app in instances
        for _ in range(threads_per_instance)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for app in instances:  # what a graceful stop does (gunicorn's worker_exit)
        app.extensions["links"].close()
    expected = len(instances) * threads_per_instance * per_thread
    assert clicks_in_db(database_url, "popular") == expected


def test_clicks_reach_the_database_within_seconds_on_their_own(
    app: Flask, database_url: str
) -> None:
    client = app.test_client()
    create_link(client, code="soon")
    for _ in range(4):
        client.get("/soon")
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and clicks_in_db(database_url, "soon") < 4:
        time.sleep(0.1)
    assert clicks_in_db(database_url, "soon") == 4  # the background flush wrote them
    assert app.extensions["links"].clicks.pending("soon") == 0
    assert client.get("/api/links/soon").get_json()["clicks"] == 4


def test_a_flush_of_several_codes_adds_each_its_own_count(app: Flask, database_url: str) -> None:
    client = app.test_client()
    counts = {"one": 1, "two": 2, "five": 5}
    for code in counts:
        create_link(client, code=code)
    for code, n in counts.items():
        for _ in range(n):
            client.get(f"/{code}")
    app.extensions["links"].clicks.flush()  # one batch with every code (or what is left of it)
    assert {code: clicks_in_db(database_url, code) for code in counts} == counts


def test_clicks_survive_an_app_restart(make_app: Callable[..., Flask], database_url: str) -> None:
    first = make_app(CLICK_FLUSH_SECONDS=60)  # nothing flushes on its own during the test
    create_link(first.test_client(), code="kept")
    for _ in range(7):
        first.test_client().get("/kept")
    assert clicks_in_db(database_url, "kept") == 0
    first.extensions["links"].close()  # gunicorn's worker_exit hook does this
    second = make_app()
    assert second.test_client().get("/api/links/kept").get_json()["clicks"] == 7


def test_clicks_counted_while_redis_is_down_are_kept(
    make_app: Callable[..., Flask], database_url: str
) -> None:
    app = make_app(REDIS_URL="redis://127.0.0.1:1/0")  # nothing listens on port 1
    create_link(app.test_client(), code="noredis")
    for _ in range(5):
        assert app.test_client().get("/noredis").status_code == 302
    app.extensions["links"].close()
    assert clicks_in_db(database_url, "noredis") == 5
