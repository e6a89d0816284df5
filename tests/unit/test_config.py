"""Configuration comes only from the environment, and bad values are refused with reasons."""

from __future__ import annotations

import pytest

from app.config import AppEnv, ConfigError, Settings, load_settings

SECRET = "s" * 32


def settings(**values: object) -> Settings:
    return load_settings(Settings, **values)


def test_production_refuses_to_start_without_a_secret_key_and_says_why() -> None:
    with pytest.raises(ConfigError) as error:
        settings(APP_ENV="production")
    message = str(error.value)
    assert "SECRET_KEY is required when APP_ENV=production" in message
    assert "forge" in message


def test_production_is_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("APP_ENV", raising=False)
    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(ConfigError):
        load_settings()


def test_development_runs_with_no_environment_on_embedded_defaults(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("DATABASE_URL", "REDIS_URL", "SECRET_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("APP_ENV", "development")
    config = load_settings()
    assert config.APP_ENV is AppEnv.DEVELOPMENT
    assert config.DATABASE_URL.startswith("sqlite:///") and "instance" in config.DATABASE_URL
    assert config.REDIS_URL is None


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgres://u:p@db:5432/app", "postgresql+psycopg://u:p@db:5432/app"),
        ("postgresql://u@db/app", "postgresql+psycopg://u@db/app"),
        ("postgresql+psycopg://u@db/app", "postgresql+psycopg://u@db/app"),
    ],
)
def test_database_urls_as_platforms_give_them_are_accepted(given: str, expected: str) -> None:
    assert settings(SECRET_KEY=SECRET, DATABASE_URL=given).DATABASE_URL == expected


@pytest.mark.parametrize(
    ("name", "value", "complaint"),
    [
        ("DATABASE_URL", "mysql://x/y", "must start with postgresql://"),
        ("REDIS_URL", "http://cache:6379", "must start with redis://"),
        ("LOG_LEVEL", "chatty", "must be one of DEBUG"),
        ("CACHE_TTL_SECONDS", "0", "greater than or equal to 1"),
        ("CACHE_TTL_SECONDS", "soon", "valid integer"),
        ("APP_ENV", "staging", "'production', 'development' or 'testing'"),
        ("SECRET_KEY", "short", "at least 16 characters"),
        ("APP_INSTANCE", "", "at least 1 character"),
        ("DB_POOL_SIZE", "1000", "less than or equal to 100"),
    ],
)
def test_bad_values_are_named_with_the_reason(name: str, value: str, complaint: str) -> None:
    values = {"SECRET_KEY": SECRET, name: value}
    with pytest.raises(ConfigError) as error:
        settings(**values)
    assert f"{name}: " in str(error.value)
    assert complaint in str(error.value)


def test_rediss_urls_for_tls_are_accepted() -> None:
    config = settings(SECRET_KEY=SECRET, REDIS_URL="rediss://:pw@cache.example:6380/0")
    assert config.REDIS_URL == "rediss://:pw@cache.example:6380/0"


def test_heroku_style_tls_redis_can_skip_certificate_verification() -> None:
    import ssl

    from app.cache import RedisCache

    unverified = RedisCache("rediss://:pw@cache.example:6380/0", ttl=60, verify_tls=False)
    assert unverified.redis.connection_pool.connection_kwargs["ssl_cert_reqs"] in (
        "none",
        ssl.CERT_NONE,
    )
    verified = RedisCache("rediss://:pw@cache.example:6380/0", ttl=60)
    assert (
        verified.redis.connection_pool.connection_kwargs.get("ssl_cert_reqs", "required") != "none"
    )
