"""The Redis ACL the Ansible redis role gives the app's user fits what the app really sends.

The app runs against a private redis-server as a user limited by that ACL while an
administrator's MONITOR records every command: each flow must still work, each command seen
must be one the ACL allows, and the dangerous ones stay refused.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis
import yaml
from flask import Flask

from tests.support.flask_client import create_link
from tests.support.paths import REPO
from tests.support.redis_server import RedisServer

ROLE_DEFAULTS = REPO / "ansible" / "roles" / "redis" / "defaults" / "main.yml"
APP_USER = "flaskmt"
APP_PASSWORD = "app-password-for-the-acl-test"
ADMIN_PASSWORD = "admin-password-for-the-acl-test"


def acl_rules() -> str:
    return yaml.safe_load(ROLE_DEFAULTS.read_text())["redis_app_acl"]


def allowed_commands() -> set[str]:
    """The +command entries of the ACL, lower case ("client|setname" for subcommands)."""
    return {rule[1:].lower() for rule in acl_rules().split() if rule.startswith("+")}


class Monitor:
    """MONITOR on the admin connection, recording the commands the app user sends."""

    def __init__(self, server: RedisServer) -> None:
        self._client = redis.Redis(port=server.port, password=ADMIN_PASSWORD)
        self.commands: list[list[str]] = []
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._stop = threading.Event()

    def _run(self) -> None:
        with self._client.monitor() as monitor:
            self.ready.set()
            for event in monitor.listen():
                if self._stop.is_set():
                    return
                parts = event["command"].split()
                # Lua scripts' own calls show as "lua" events: the ACL checks them too
                self.commands.append([p.strip('"').lower() for p in parts])

    def __enter__(self) -> Monitor:
        self.ready = threading.Event()
        self._thread.start()
        assert self.ready.wait(5)
        return self

    def __exit__(self, *exc: object) -> None:
        time.sleep(0.5)  # the last replies' commands reach the monitor
        self._stop.set()
        self._client.ping()  # wakes listen() so the thread sees the stop
        self._thread.join(timeout=5)

    def seen(self) -> set[str]:
        """Command names, with the subcommand for the container commands (CLIENT, SCRIPT...)."""
        names = set()
        for parts in self.commands:
            name = parts[0]
            if name in {"client", "script", "config", "acl", "object", "memory"} and len(parts) > 1:
                name = f"{name}|{parts[1]}"
            names.add(name)
        return names - {"monitor"}


@pytest.fixture
def acl_redis() -> Iterator[RedisServer]:
    server = RedisServer()
    server.start()
    admin = server.client()
    admin.config_set("requirepass", ADMIN_PASSWORD)
    admin = redis.Redis(port=server.port, password=ADMIN_PASSWORD, decode_responses=True)
    rules = acl_rules().split()
    admin.execute_command("ACL", "SETUSER", APP_USER, "on", f">{APP_PASSWORD}", *rules)
    try:
        yield server
    finally:
        server.stop()


def test_every_command_the_app_sends_is_allowed_and_nothing_more(
    make_app: Callable[..., Flask], acl_redis: RedisServer, tmp_path: Path
) -> None:
    url = f"redis://{APP_USER}:{APP_PASSWORD}@127.0.0.1:{acl_redis.port}/0"
    with Monitor(acl_redis) as monitor:
        app = make_app(REDIS_URL=url, RATELIMIT_CREATE="2/minute")
        client = app.test_client()
        assert client.get("/readyz").get_json()["checks"]["cache"]["backend"] == "redis"
        link = create_link(client, "https://example.com/acl")
        code = link["code"]
        for _ in range(3):  # a miss, then hits (and click counting)
            assert client.get(f"/{code}").status_code == 302
        assert client.get(f"/api/links/{code}").status_code == 200
        time.sleep(1)  # the click flusher's round
        create_link(client, "https://example.com/acl-2")
        assert client.post("/api/links", json={"url": "https://example.com/x"}).status_code == 429
        deleted = client.delete(
            f"/api/links/{code}", headers={"Authorization": f"Bearer {link['manage_token']}"}
        )
        assert deleted.status_code == 204
        assert client.get(f"/{code}").status_code in {404, 410}
        assert client.get("/metrics").status_code == 200

    seen = monitor.seen()
    print(f"commands the app sent: {sorted(seen)}")
    assert {"get", "set", "publish"} <= seen  # the monitor saw the app at work
    assert seen <= allowed_commands(), seen - allowed_commands()


@pytest.mark.parametrize(
    "command",
    [
        ("CONFIG", "GET", "*"),
        ("CONFIG", "SET", "maxmemory", "1"),
        ("FLUSHALL",),
        ("FLUSHDB",),
        ("KEYS", "*"),
        ("DEBUG", "SLEEP", "0"),
        ("ACL", "LIST"),
        ("SHUTDOWN",),
        ("MONITOR",),
        ("MODULE", "LIST"),
        ("REPLICAOF", "NO", "ONE"),
    ],
)
def test_the_app_user_cannot_run_administrative_commands(
    acl_redis: RedisServer, command: tuple[str, ...]
) -> None:
    admin = redis.Redis(port=acl_redis.port, password=ADMIN_PASSWORD, decode_responses=True)
    # ACL DRYRUN: the ACL's verdict alone (DEBUG, for one, is also off for everybody by default)
    verdict = admin.execute_command("ACL", "DRYRUN", APP_USER, *command)
    assert "no permissions" in verdict, verdict


def test_config_get_is_refused_for_the_app_user(acl_redis: RedisServer) -> None:
    app_user = redis.Redis(port=acl_redis.port, username=APP_USER, password=APP_PASSWORD)
    with pytest.raises(redis.exceptions.NoPermissionError):
        app_user.config_get("*")
    assert app_user.ping()
