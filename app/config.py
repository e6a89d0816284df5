"""Settings, read only from the environment (12-factor) and validated once at start-up."""

from __future__ import annotations

import socket
from enum import StrEnum
from pathlib import Path
from typing import TypeVar

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

INSTANCE_DIR = Path(__file__).resolve().parent.parent / "instance"
MAX_BODY_BYTES = 1024 * 1024  # nginx's client_max_body_size matches this


class AppEnv(StrEnum):
    PRODUCTION = "production"
    DEVELOPMENT = "development"
    TESTING = "testing"


class ConfigError(RuntimeError):
    """The environment does not describe a runnable app; the message says what to fix."""


def normalise_database_url(url: str) -> str:
    """The SQLAlchemy URL for a DATABASE_URL as platforms hand it out."""
    # Heroku and many PaaS hand out postgres://; SQLAlchemy wants an explicit driver.
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    if not url.startswith(("postgresql+psycopg://", "sqlite://")):
        raise ValueError("must start with postgresql://, postgres:// or sqlite://")
    return url


class DatabaseSettings(BaseSettings):
    """What the migration command needs: only where the database is."""

    # No prefix: the names are the ones every deployment (Heroku, compose, Ansible) already uses.
    model_config = SettingsConfigDict(case_sensitive=True, extra="ignore")

    DATABASE_URL: str = Field(default_factory=lambda: f"sqlite:///{INSTANCE_DIR / 'app.sqlite3'}")

    @field_validator("DATABASE_URL")
    @classmethod
    def _normalise_database_url(cls, url: str) -> str:
        return normalise_database_url(url)

    @property
    def is_sqlite(self) -> bool:
        return self.DATABASE_URL.startswith("sqlite")


class Settings(DatabaseSettings):
    """Everything the app reads from the environment."""

    APP_ENV: AppEnv = AppEnv.PRODUCTION  # strict by default: forgetting it never weakens production
    REDIS_URL: str | None = None  # unset: in-process cache, fine for one process only
    # Heroku Redis serves rediss:// with a self-signed certificate: it must be told not to verify.
    REDIS_TLS_VERIFY: bool = True
    SECRET_KEY: str | None = None
    # Bearer token that may list every link and delete any; unset: there is no admin.
    ADMIN_TOKEN: str | None = None
    APP_INSTANCE: str = Field(default_factory=socket.gethostname, min_length=1, max_length=64)
    LOG_LEVEL: str = "INFO"
    CACHE_TTL_SECONDS: int = Field(default=3600, ge=1, le=30 * 24 * 3600)
    CLICK_FLUSH_SECONDS: float = Field(default=1.0, gt=0, le=60)
    DB_POOL_SIZE: int = Field(default=5, ge=1, le=100)
    BENCH_ENDPOINTS: bool = False

    @field_validator("REDIS_URL")
    @classmethod
    def _check_redis_url(cls, url: str | None) -> str | None:
        if url in (None, ""):
            return None
        if not url.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("must start with redis://, rediss:// or unix://")
        return url

    @field_validator("ADMIN_TOKEN")
    @classmethod
    def _empty_admin_token_is_none(cls, token: str | None) -> str | None:
        return token or None  # compose and Ansible write empty values for "not set"

    @field_validator("SECRET_KEY")
    @classmethod
    def _check_secret_key(cls, key: str | None) -> str | None:
        if key is not None and len(key) < 16:
            raise ValueError("must be at least 16 characters (use a long random string)")
        return key

    @field_validator("LOG_LEVEL")
    @classmethod
    def _check_log_level(cls, level: str) -> str:
        level = level.upper()
        if level not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ValueError("must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL")
        return level

    @model_validator(mode="after")
    def _production_needs_a_secret(self) -> Settings:
        if self.APP_ENV is AppEnv.PRODUCTION and not self.SECRET_KEY:
            raise ValueError(
                "SECRET_KEY is required when APP_ENV=production: it signs sessions and CSRF "
                "tokens, and a default key would let anyone forge them. Set SECRET_KEY to a long "
                "random string (python -c 'import secrets; print(secrets.token_hex(32))'), or set "
                "APP_ENV=development for local work."
            )
        return self


SettingsT = TypeVar("SettingsT", bound=DatabaseSettings)


def load_settings(cls: type[SettingsT] = Settings, **overrides: object) -> SettingsT:  # type: ignore[assignment]
    """Read the environment; raise ConfigError with every problem listed, one per line."""
    try:
        return cls(**overrides)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            name = ".".join(str(part) for part in error["loc"])
            message = error["msg"].removeprefix("Value error, ")
            problems.append(f"  {name}: {message}" if name else f"  {message}")
        raise ConfigError("invalid configuration:\n" + "\n".join(problems)) from None
