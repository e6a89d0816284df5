"""Configuration comes only from the environment, and bad values are refused with reasons."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from app.config import DEV_SECRET_KEY, AppEnv, ConfigError, Settings, load_settings
from tests.support.paths import REPO

SECRET = "s" * 32
HOSTS = "links.example"


def settings(**values: object) -> Settings:
    return load_settings(Settings, **values)


def production(**values: object) -> Settings:
    """Production settings that pass every check, with `values` on top."""
    return settings(**{"SECRET_KEY": SECRET, "ALLOWED_HOSTS": HOSTS, **values})


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
        ("postgres://u:p@db:5432/app", "postgresql+psycopg2://u:p@db:5432/app"),
        ("postgresql://u@db/app", "postgresql+psycopg2://u@db/app"),
        ("postgresql+psycopg2://u@db/app", "postgresql+psycopg2://u@db/app"),
        # The driver of earlier releases: moved to the installed one, not refused.
        ("postgresql+psycopg://u@db/app", "postgresql+psycopg2://u@db/app"),
    ],
)
def test_database_urls_as_platforms_give_them_are_accepted(given: str, expected: str) -> None:
    assert production(DATABASE_URL=given).DATABASE_URL == expected


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
        ("ALLOWED_HOSTS", "*", "'*' would trust any Host header"),
        ("ALLOWED_HOSTS", "ok.example,bad..example", "'bad..example' has an invalid host name"),
        ("ALLOWED_HOSTS", "under_score.example", "has an invalid host name"),
        ("PUBLIC_BASE_URL", "links.example", "must be an http:// or https:// URL"),
        ("PUBLIC_BASE_URL", "https://links.example/s", "must be the scheme and host only"),
        ("PUBLIC_BASE_URL", "https://links.example/?a=b", "must be the scheme and host only"),
    ],
)
def test_bad_values_are_named_with_the_reason(name: str, value: str, complaint: str) -> None:
    with pytest.raises(ConfigError) as error:
        production(**{name: value})
    assert f"{name}: " in str(error.value)
    assert complaint in str(error.value)


def test_rediss_urls_for_tls_are_accepted() -> None:
    config = production(REDIS_URL="rediss://:pw@cache.example:6380/0")
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


# --- production: secrets that guard something, and the names the service answers to ---------
ROOT = Path(__file__).resolve().parents[2]


def example_file_secrets() -> dict[str, str]:
    """Every secret-looking value the example files ship (what a careless copy would keep)."""
    values = {}
    for line in (ROOT / ".env.example").read_text().splitlines():
        if line.startswith("#"):
            continue
        name, _, value = line.partition("=")
        if any(word in name for word in ("SECRET", "TOKEN", "PASSWORD")) and value.strip():
            values[f".env.example {name}"] = value.split()[0]
    vault = yaml.safe_load((ROOT / "ansible" / "vault.example.yml").read_text())
    values.update({f"vault.example.yml {name}": str(value) for name, value in vault.items()})
    return values


def test_the_example_files_ship_secrets_to_refuse() -> None:
    found = example_file_secrets()
    assert ".env.example SECRET_KEY" in found
    assert "vault.example.yml vault_app_secret_key" in found


@pytest.mark.parametrize("where", sorted(example_file_secrets()))
def test_production_refuses_every_example_files_value_as_secret_key_and_admin_token(
    where: str,
) -> None:
    value = example_file_secrets()[where]
    for name in ("SECRET_KEY", "ADMIN_TOKEN"):
        with pytest.raises(ConfigError) as error:
            production(**{name: value})
        message = str(error.value)
        assert name in message, where
        assert "placeholder" in message or "at least 16 characters" in message, where


@pytest.mark.parametrize(
    ("key", "reason"),
    [
        (DEV_SECRET_KEY, "is the public development key"),
        ("Change-Me-please-0123456789abcdefghijklmnop", "is a placeholder"),
        ("x" * 31, "must be at least 32 characters, not 31"),
    ],
)
def test_production_refuses_weak_secret_keys_naming_the_reason(key: str, reason: str) -> None:
    with pytest.raises(ConfigError) as error:
        production(SECRET_KEY=key)
    assert f"SECRET_KEY {reason}" in str(error.value)
    assert "secrets.token_hex(32)" in str(error.value)  # and how to make a good one


def test_weak_secrets_are_fine_for_local_work() -> None:
    config = settings(APP_ENV="development", SECRET_KEY="x" * 16, ADMIN_TOKEN="short")
    assert config.ADMIN_TOKEN == "short"


def test_production_refuses_a_short_admin_token_but_runs_without_one() -> None:
    with pytest.raises(ConfigError) as error:
        production(ADMIN_TOKEN="letmein")
    assert "ADMIN_TOKEN must be at least 32 characters, not 7" in str(error.value)
    assert production().ADMIN_TOKEN is None
    assert production(ADMIN_TOKEN="").ADMIN_TOKEN is None  # compose's "unset"


def test_production_needs_a_public_base_url_or_allowed_hosts() -> None:
    with pytest.raises(ConfigError) as error:
        settings(SECRET_KEY=SECRET)
    assert "PUBLIC_BASE_URL or ALLOWED_HOSTS is required when APP_ENV=production" in str(
        error.value
    )
    assert settings(SECRET_KEY=SECRET, PUBLIC_BASE_URL="https://links.example").trusted_hosts == [
        "links.example"
    ]


def test_every_production_problem_is_listed_at_once() -> None:
    with pytest.raises(ConfigError) as error:
        settings(SECRET_KEY=DEV_SECRET_KEY, ADMIN_TOKEN="change-me-admin-token-0123456789")
    message = str(error.value)
    assert "SECRET_KEY is the public development key" in message
    assert "ADMIN_TOKEN is a placeholder" in message
    assert "PUBLIC_BASE_URL or ALLOWED_HOSTS is required" in message


def test_allowed_hosts_and_public_base_url_are_read_and_normalised() -> None:
    config = production(
        ALLOWED_HOSTS=" links.example , .Example.ORG,127.0.0.1,[::1],bücher.example ",
        PUBLIC_BASE_URL="HTTPS://Short.Example:443/",
    )
    assert config.ALLOWED_HOSTS == [
        "links.example",
        ".Example.ORG",
        "127.0.0.1",
        "[::1]",
        "bücher.example",
    ]
    assert config.PUBLIC_BASE_URL == "https://short.example"
    assert config.trusted_hosts[-1] == "short.example"
    assert production(ALLOWED_HOSTS="a.example", PUBLIC_BASE_URL="").PUBLIC_BASE_URL is None


def test_reading_the_settings_loads_none_of_the_app() -> None:
    # gunicorn's master reads app.config; the app and its libraries load in the workers only
    # (after the fork, and after gevent's monkey-patching when WORKER_CLASS=gevent).
    code = (
        "import sys, app.config\n"
        "heavy = {'flask', 'sqlalchemy', 'redis', 'prometheus_client', 'psycopg2', 'app.factory'}\n"
        "print(sorted(heavy & set(sys.modules)))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
