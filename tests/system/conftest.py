"""Fixtures of the system tier: real nginx in front of real gunicorn instances on loopback.

Each session gets its own PostgreSQL database (dropped at the end) and its own Redis database
(TEST_SYSTEM_REDIS_URL, db 14 by default; flushed before and after). Every stack a test starts is
stopped by the fixture that started it.
"""

from __future__ import annotations

import itertools
import os
import sys
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
import redis

from stack.state import State
from tests.support import pg
from tests.support.apt import ensure_debian_packages
from tests.support.need import need
from tests.support.procs import run
from tests.support.services import (
    ADMIN_DATABASE_URL,
    SYSTEM_REDIS_URL,
    postgres_reachable,
    scratch_database,
)
from tests.support.stacks import TEST_APP_SETTINGS, StackFactory, running_stack


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    """A fresh database for this session on the test PostgreSQL server, dropped at the end."""
    need(postgres_reachable(), f"PostgreSQL is not reachable at {ADMIN_DATABASE_URL}")
    with scratch_database("fm_system") as url:
        yield url


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    url = SYSTEM_REDIS_URL
    client = redis.Redis.from_url(url, socket_timeout=5)
    try:
        client.ping()
    except redis.RedisError as exc:
        need(False, f"Redis not reachable at {url}: {exc}")
    client.flushdb()
    try:
        yield url
    finally:
        client.flushdb()
        client.close()


@pytest.fixture(scope="session")
def tools() -> None:
    """nginx (the balancer) and redis-server (a Redis the tests may kill) from Debian."""
    ensure_debian_packages("nginx", "redis-server")


@pytest.fixture
def make_stack(
    tools: None, database_url: str, redis_url: str, tmp_path: Path
) -> Iterator[StackFactory]:
    """Start stacks with per-test overrides; every one is stopped at the end of the test."""
    numbers = itertools.count()
    with ExitStack() as running:

        def start(**overrides: Any) -> State:
            state_dir = tmp_path / f"stack{next(numbers)}"
            overrides["app_env"] = {"LOG_LEVEL": "INFO", **overrides.get("app_env", {})}
            # a test may point the stack at its own database or Redis (e.g. behind a proxy)
            overrides = {"database_url": database_url, "redis_url": redis_url, **overrides}
            return running.enter_context(running_stack(state_dir, **overrides))

        yield start


@pytest.fixture(scope="module")
def stack(
    tools: None, database_url: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[State]:
    """One 3-instance stack with the policy's own write limit, shared by a module's tests."""
    # links.example: the name a port-forwarded client uses in test_nginx_policy.
    hosts = {"ALLOWED_HOSTS": "127.0.0.1,localhost,links.example"}
    state_dir = tmp_path_factory.mktemp("stack")
    with running_stack(state_dir, database_url, redis_url, app_env=hosts) as state:
        yield state


@pytest.fixture
def db(database_url: str) -> Iterator[pg.Connection]:
    with pg.connect(database_url, autocommit=True) as connection:
        yield connection


@pytest.fixture(scope="module")
def tls_stack(
    tools: None, database_url: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[State, str]]:
    """(state, what `up` printed) of a 2-instance stack started the way a person does it:
    `STACK_TLS=1 python -m stack up`, with a local CA of its own; stopped at the end."""
    state_dir = tmp_path_factory.mktemp("tls-stack")
    env = {
        **os.environ,
        **TEST_APP_SETTINGS,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "WEB_CONCURRENCY": "1",
        "STACK_TLS": "1",
    }
    common = [sys.executable, "-m", "stack", "--state-dir", str(state_dir)]
    up = [*common, "up", "-n", "2", "--port", "0", "--https-port", "0"]
    try:
        started = run([*up, "--tls-dir", str(state_dir / "tls")], env=env, timeout=300)
        state = State.load(state_dir)
        assert state is not None
        yield state, started.stdout
    finally:
        run([*common, "down"], env=env, timeout=120, check=False)
