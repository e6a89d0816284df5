"""Fixtures for the integration tier: real PostgreSQL and Redis, each test leaving them clean."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, text

from app import create_app
from app.config import Settings, load_settings, normalise_database_url
from app.migrate import upgrade
from tests.support.auth import ADMIN_TOKEN
from tests.support.need import need
from tests.support.services import (
    integration_redis_url,
    postgres_reachable,
    redis_reachable,
    scratch_database,
)

SECRET = "integration-tests-secret-key"


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    need(postgres_reachable(), "PostgreSQL is not reachable (TEST_DATABASE_URL)")
    with scratch_database("fm_it") as url:
        upgrade(url)
        yield url


@pytest.fixture(scope="session")
def redis_url() -> str:
    url = integration_redis_url()
    need(redis_reachable(url), f"Redis is not reachable at {url}")
    return url


@pytest.fixture
def make_settings(database_url: str, redis_url: str) -> Callable[..., Settings]:
    def build(**overrides: object) -> Settings:
        values: dict[str, object] = {
            "APP_ENV": "testing",
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "SECRET_KEY": SECRET,
            "ADMIN_TOKEN": ADMIN_TOKEN,
            "APP_INSTANCE": "test-a",
            "CLICK_FLUSH_SECONDS": 0.2,
            # Limits on, but out of reach: tests about something else make many links (the rate
            # limit tests set their own).
            "RATELIMIT_CREATE": "100000/minute",
            "RATELIMIT_DELETE": "100000/minute",
        }
        values.update(overrides)
        return load_settings(Settings, **values)

    return build


@pytest.fixture
def make_app(make_settings: Callable[..., Settings]) -> Iterator[Callable[..., Flask]]:
    """Build app objects (several share the services, like instances); all closed afterwards."""
    apps: list[Flask] = []

    def build(**overrides: object) -> Flask:
        application = create_app(make_settings(**overrides))
        apps.append(application)
        return application

    yield build
    for application in apps:
        application.extensions["links"].close()


@pytest.fixture
def app(make_app: Callable[..., Flask]) -> Flask:
    return make_app()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture(autouse=True)
def clean_services(database_url: str, redis_url: str) -> Iterator[None]:
    yield
    engine = create_engine(normalise_database_url(database_url))
    with engine.begin() as connection:
        connection.execute(text("TRUNCATE links, retired_codes RESTART IDENTITY"))
    engine.dispose()
    client = redis.Redis.from_url(redis_url)
    for pattern in ("links:*", "bench:*", "LIMITS:*"):
        keys = list(client.scan_iter(match=pattern, count=500))
        if keys:
            client.delete(*keys)
