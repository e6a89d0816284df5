"""Settings, read only from the environment (12-factor) and validated once at start-up.

One way for every entry point: a pydantic-settings class per reader, loaded by load_settings,
which lists every problem as `NAME: what is wrong`. DatabaseSettings (`python -m app.migrate`)
< ServiceSettings (where the services are: also what `python -m stack` checks) < Settings (the
app). ServerSettings is what gunicorn.conf.py and run.py read; this module imports nothing of
the app, so gunicorn's master reads it without loading the app.
"""

from __future__ import annotations

import importlib.util
import os
import socket
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar, get_args, overload

from limits import parse_many
from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from app.urls import normalise, normalise_host

INSTANCE_DIR = Path(__file__).resolve().parent.parent / "instance"
MAX_BODY_BYTES = 1024 * 1024  # nginx's client_max_body_size matches this
# Only for local work: production refuses it (and any key that looks like a placeholder).
DEV_SECRET_KEY = "dev-only-not-a-secret-change-me"  # noqa: S105  (deliberately public)
MIN_PRODUCTION_SECRET_LENGTH = 32
# Marks of a value copied from an example file (.env.example, ansible/vault.example.yml) instead
# of generated: the examples use them so that production refuses to start until they are replaced.
PLACEHOLDER_MARKS = ("change-me", "changeme", "change_me")
GENERATE_HINT = "python3 -c 'import secrets; print(secrets.token_hex(32))'"


class AppEnv(StrEnum):
    PRODUCTION = "production"
    DEVELOPMENT = "development"
    TESTING = "testing"


class ConfigError(RuntimeError):
    """The environment does not describe a runnable app; the message says what to fix."""


def normalise_database_url(url: str) -> str:
    """The SQLAlchemy URL for a DATABASE_URL as platforms hand it out."""
    # Heroku and many PaaS hand out postgres://; SQLAlchemy wants an explicit driver. A URL
    # naming psycopg 3 (the driver of earlier releases) is moved to the installed psycopg2.
    for prefix in ("postgres://", "postgresql://", "postgresql+psycopg://"):
        if url.startswith(prefix):
            return "postgresql+psycopg2://" + url[len(prefix) :]
    if not url.startswith(("postgresql+psycopg2://", "sqlite://")):
        raise ValueError("must start with postgresql://, postgres:// or sqlite://")
    return url


def in_range(low: int, high: int) -> BeforeValidator:
    """A whole number from `low` to `high`, refused as `must be low-high, not '...'`."""

    def check(raw: object) -> int:
        text = str(raw).strip()
        if not text.isdigit() or not low <= int(text) <= high:
            raise ValueError(f"must be {low}-{high}, not {raw!r}")
        return int(text)

    return BeforeValidator(check)


def _check_log_level(level: str) -> str:
    level = level.upper()
    if level not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
        raise ValueError("must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL")
    return level


LogLevel = Annotated[str, AfterValidator(_check_log_level)]


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


class ServiceSettings(DatabaseSettings):
    """Where the app's services are: the database and the cache."""

    REDIS_URL: str | None = None  # unset: in-process cache, fine for one process only

    @field_validator("REDIS_URL")
    @classmethod
    def _check_redis_url(cls, url: str | None) -> str | None:
        if url in (None, ""):
            return None
        if not url.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("must start with redis://, rediss:// or unix://")
        return url


class Settings(ServiceSettings):
    """Everything the app reads from the environment."""

    APP_ENV: AppEnv = AppEnv.PRODUCTION  # strict by default: forgetting it never weakens production
    # Heroku Redis serves rediss:// with a self-signed certificate: it must be told not to verify.
    REDIS_TLS_VERIFY: bool = True
    SECRET_KEY: str | None = None
    # Bearer token that may list every link and delete any; unset: there is no admin.
    ADMIN_TOKEN: str | None = None
    # Where the service is reached, e.g. https://links.example.com: short URLs are built on it,
    # and its host is trusted. ALLOWED_HOSTS: the Host names (comma-separated; ".example.com"
    # allows every subdomain) the app answers; others get 400. Production needs one of the two.
    PUBLIC_BASE_URL: str | None = None
    ALLOWED_HOSTS: Annotated[list[str], NoDecode] = Field(default_factory=list)
    APP_INSTANCE: str = Field(default_factory=socket.gethostname, min_length=1, max_length=64)
    LOG_LEVEL: LogLevel = "INFO"
    CACHE_TTL_SECONDS: int = Field(default=3600, ge=1, le=30 * 24 * 3600)
    CLICK_FLUSH_SECONDS: float = Field(default=1.0, gt=0, le=60)
    DB_POOL_SIZE: int = Field(default=5, ge=1, le=100)
    # The app's own rate limits per client address (Flask-Limiter; nginx has its own too), in
    # Flask-Limiter's notation: "20/minute;200/day". RATELIMIT_ENABLED=false turns them off
    # (load tests). The count lives in REDIS_URL's Redis unless RATELIMIT_STORAGE_URI says
    # otherwise (memory:// without Redis: per process).
    RATELIMIT_ENABLED: bool = True
    RATELIMIT_CREATE: str = "20/minute;200/day"
    RATELIMIT_DELETE: str = "20/minute"
    RATELIMIT_STORAGE_URI: str | None = None

    @field_validator("RATELIMIT_CREATE", "RATELIMIT_DELETE")
    @classmethod
    def _check_rate_limit(cls, value: str) -> str:
        try:
            parse_many(value)
        except ValueError:
            raise ValueError(
                f"{value!r} is not a rate limit; write e.g. 20/minute or 20/minute;200/day"
            ) from None
        return value

    @field_validator("ADMIN_TOKEN", "PUBLIC_BASE_URL", "RATELIMIT_STORAGE_URI")
    @classmethod
    def _empty_is_unset(cls, value: str | None) -> str | None:
        return value or None  # compose and Ansible write empty values for "not set"

    @field_validator("PUBLIC_BASE_URL")
    @classmethod
    def _check_public_base_url(cls, url: str | None) -> str | None:
        if url is None:
            return None
        canonical = normalise(url).url
        if canonical.count("/") != 3 or not canonical.endswith("/"):
            raise ValueError("must be the scheme and host only, e.g. https://links.example.com")
        return canonical.removesuffix("/")

    @field_validator("ALLOWED_HOSTS", mode="before")
    @classmethod
    def _split_allowed_hosts(cls, value: object) -> object:
        if isinstance(value, str):
            value = value.split(",")
        if isinstance(value, list):
            return [entry.strip() for entry in value if isinstance(entry, str) and entry.strip()]
        return value

    @field_validator("ALLOWED_HOSTS")
    @classmethod
    def _check_allowed_hosts(cls, hosts: list[str]) -> list[str]:
        for entry in hosts:
            if entry == "*":
                raise ValueError(
                    "'*' would trust any Host header; list the names (a leading dot allows "
                    "every subdomain, e.g. .example.com)"
                )
            try:
                normalise_host(entry.removeprefix("."))
            except ValueError as exc:
                raise ValueError(f"{entry!r} {exc}") from None
        return hosts

    @field_validator("SECRET_KEY")
    @classmethod
    def _check_secret_key(cls, key: str | None) -> str | None:
        if key is not None and len(key) < 16:
            raise ValueError("must be at least 16 characters (use a long random string)")
        return key

    @property
    def trusted_hosts(self) -> list[str]:
        """ALLOWED_HOSTS plus PUBLIC_BASE_URL's host: the Host names the app answers."""
        public = [normalise(self.PUBLIC_BASE_URL).host] if self.PUBLIC_BASE_URL else []
        return [*self.ALLOWED_HOSTS, *public]

    @model_validator(mode="after")
    def _production_is_strict(self) -> Settings:
        if self.APP_ENV is not AppEnv.PRODUCTION:
            return self
        problems = []
        if not self.SECRET_KEY:
            problems.append(
                "SECRET_KEY is required when APP_ENV=production: it signs sessions and CSRF "
                "tokens, and a default key would let anyone forge them. Set SECRET_KEY to a long "
                f"random string ({GENERATE_HINT}), or set APP_ENV=development for local work."
            )
        elif reason := weak_secret(self.SECRET_KEY):
            problems.append(f"SECRET_KEY {reason} (production; generate one: {GENERATE_HINT})")
        if self.ADMIN_TOKEN and (reason := weak_secret(self.ADMIN_TOKEN)):
            problems.append(f"ADMIN_TOKEN {reason} (production; generate one: {GENERATE_HINT})")
        if not self.trusted_hosts:
            problems.append(
                "PUBLIC_BASE_URL or ALLOWED_HOSTS is required when APP_ENV=production: short "
                "URLs are built on the public address, and requests for any other Host are "
                "refused (else a forged Host header would make the app hand out links to another "
                "site). E.g. PUBLIC_BASE_URL=https://links.example.com, or "
                "ALLOWED_HOSTS=links.example.com,www.links.example.com."
            )
        if problems:
            raise ValueError("\n  ".join(problems))
        return self


MAX_WORKERS = 64  # per instance; more only queue behind each other on any host we know
WorkerClass = Literal["sync", "gthread", "gevent"]
WORKER_CLASSES: tuple[str, ...] = get_args(WorkerClass)


def _default_workers() -> int:
    # One per core, capped: only a value the operator writes is refused above the cap, so a big
    # host never refuses a number nobody wrote.
    return min(os.cpu_count() or 1, MAX_WORKERS)


# The project's WSGI callable, gunicorn's default app (bench/ names its reference apps instead).
APP_WSGI = "app.wsgi:app"


def _empty_is_default(default: str) -> Callable[[object], object]:
    return lambda value: value or default


class ServerSettings(BaseSettings):
    """How the app is served: what gunicorn.conf.py (and run.py: HOST, PORT) read."""

    model_config = SettingsConfigDict(case_sensitive=True, extra="ignore")

    # BIND wins over PORT; platforms such as Heroku only give PORT.
    BIND: str | None = None
    PORT: Annotated[int, in_range(1, 65535)] = 8000
    HOST: str = "127.0.0.1"  # run.py only (gunicorn: BIND)
    WEB_CONCURRENCY: Annotated[int, in_range(1, MAX_WORKERS)] = Field(
        default_factory=_default_workers
    )
    WORKER_CLASS: WorkerClass = "gthread"
    THREADS: Annotated[int, in_range(1, 64)] = 2
    GRACEFUL_TIMEOUT: Annotated[int, in_range(1, 600)] = 30
    TIMEOUT: Annotated[int, in_range(1, 600)] = 30
    KEEPALIVE: Annotated[int, in_range(0, 3600)] = 75
    MAX_REQUESTS: Annotated[int, in_range(0, 10_000_000)] = 10000
    # The WSGI callable; bench/ names its reference apps here to serve them with these settings.
    WSGI_APP: Annotated[str, BeforeValidator(_empty_is_default(APP_WSGI))] = APP_WSGI
    ACCESS_LOG: str = "-"  # empty: no access log
    LOG_LEVEL: LogLevel = "INFO"
    FORWARDED_ALLOW_IPS: str = "127.0.0.1,::1"

    @field_validator("BIND", mode="before")
    @classmethod
    def _empty_bind_is_unset(cls, value: object) -> object:
        return value or None

    @field_validator("WORKER_CLASS", mode="before")
    @classmethod
    def _check_worker_class(cls, value: object) -> object:
        if value not in WORKER_CLASSES:
            *others, last = WORKER_CLASSES
            raise ValueError(f"must be {', '.join(others)} or {last}, not {value!r}")
        if value == "gevent" and importlib.util.find_spec("gevent") is None:
            # gevent is optional (requirements-gevent.txt): say so before gunicorn's traceback.
            raise ValueError("gevent is not installed: pip install -r requirements-gevent.txt")
        return value


def weak_secret(value: str) -> str | None:
    """Why `value` cannot guard production, or None when it can."""
    if value == DEV_SECRET_KEY:
        return "is the public development key"
    lowered = value.lower()
    if any(mark in lowered for mark in PLACEHOLDER_MARKS):
        return "is a placeholder from an example file, not a secret"
    if len(value) < MIN_PRODUCTION_SECRET_LENGTH:
        return f"must be at least {MIN_PRODUCTION_SECRET_LENGTH} characters, not {len(value)}"
    return None


SettingsT = TypeVar("SettingsT", bound=BaseSettings)


@overload
def load_settings(cls: None = None, **overrides: Any) -> Settings: ...
@overload
def load_settings(cls: type[SettingsT], **overrides: Any) -> SettingsT: ...
def load_settings(cls: type[BaseSettings] | None = None, **overrides: Any) -> BaseSettings:
    """Read the environment into `cls` (Settings by default); raise ConfigError with every
    problem listed, one per line."""
    try:
        return (cls or Settings)(**overrides)
    except ValidationError as exc:
        raise _config_error(exc) from None


def check_values(cls: type[SettingsT], **values: Any) -> SettingsT:
    """`values` alone, as `cls` would take them, without reading this process's environment:
    for a tool checking what it will hand to another process. Raises ConfigError."""
    try:
        return cls.model_validate(values)
    except ValidationError as exc:
        raise _config_error(exc) from None


def _config_error(exc: ValidationError) -> ConfigError:
    problems = []
    for error in exc.errors():
        name = ".".join(str(part) for part in error["loc"])
        message = error["msg"].removeprefix("Value error, ")
        problems.append(f"  {name}: {message}" if name else f"  {message}")
    return ConfigError("invalid configuration:\n" + "\n".join(problems))
