"""What a stack is made of, validated before anything starts."""

from __future__ import annotations

import ipaddress
import os
import re
from dataclasses import dataclass, field, fields
from pathlib import Path

from app.config import ConfigError, ServerSettings, ServiceSettings, check_values

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_STATE_DIR = REPO_ROOT / ".run" / "stack"
# The local CA and the server certificate: outside the state directory, so that `down` keeps
# them and a person trusts the CA once (nginx/local-ca.sh).
DEFAULT_TLS_DIR = REPO_ROOT / ".run" / "tls"
# Names the certificate is for: nginx listens on 127.0.0.1 only.
TLS_NAMES = ("localhost", "127.0.0.1")
# Used only when the environment names no service, and `up` says so.
DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/test"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"

MAX_INSTANCES = 16
BALANCING = ("least_conn", "round_robin")
_RATE = re.compile(r"^([1-9][0-9]{0,6}r/[sm]|off)$")
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("", "0", "false", "no", "off")


class StackError(RuntimeError):
    """Something the person running the stack can fix; the message says what."""


@dataclass
class StackConfig:
    instances: int = 3
    port: int = 8080  # 0: pick a free port
    state_dir: Path = DEFAULT_STATE_DIR
    database_url: str = DEFAULT_DATABASE_URL
    redis_url: str = DEFAULT_REDIS_URL
    balancing: str = "least_conn"
    # nginx's rate limits per client address (10r/s, 600r/m or off); None: nginx/edge.conf's.
    write_rate: str | None = None
    read_rate: str | None = None
    # Who may read /metrics and /readyz through nginx (monitoring), /readyz only (balancer), and
    # whose X-Forwarded-For nginx believes (trusted proxies): addresses or CIDR ranges.
    monitoring_from: list[str] = field(default_factory=lambda: ["127.0.0.1"])
    balancer_from: list[str] = field(default_factory=list)
    trusted_proxies: list[str] = field(default_factory=list)
    # HTTPS on https_port (0: a free port) with a certificate from the local CA in tls_dir;
    # plain HTTP on `port` then only redirects (and answers /nginx-health).
    tls: bool = False
    https_port: int = 8443
    tls_dir: Path = DEFAULT_TLS_DIR
    workers: int | None = None  # WEB_CONCURRENCY per instance; None: gunicorn.conf.py decides
    worker_class: str | None = None  # WORKER_CLASS; None: gunicorn.conf.py decides
    access_log: bool = True
    # Extra environment for every app instance (e.g. APP_ENV, LOG_LEVEL, WSGI_APP).
    app_env: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def validate(self) -> StackConfig:
        problems = []
        if not 1 <= self.instances <= MAX_INSTANCES:
            problems.append(
                f"instances must be between 1 and {MAX_INSTANCES}, got {self.instances}"
            )
        if not 0 <= self.port <= 65535:
            problems.append(f"port must be between 0 and 65535 (0: any free port), got {self.port}")
        if self.balancing not in BALANCING:
            problems.append(f"balancing must be one of {', '.join(BALANCING)}")
        for what, rate in (("write", self.write_rate), ("read", self.read_rate)):
            if rate is not None and not _RATE.match(rate):
                problems.append(
                    f"{what} rate must look like 10r/s or 600r/m (nginx limit_req_zone rate) "
                    f"or be off, got {rate!r}"
                )
        for what, addresses in (
            ("monitoring addresses", self.monitoring_from),
            ("balancer addresses", self.balancer_from),
            ("trusted proxies", self.trusted_proxies),
        ):
            for address in addresses:
                try:
                    ipaddress.ip_network(address, strict=False)
                except ValueError:
                    problems.append(
                        f"{what}: {address!r} is not an IP address or CIDR range "
                        "(e.g. 127.0.0.1 or 10.0.0.0/8)"
                    )
        if not 0 <= self.https_port <= 65535:
            problems.append(f"https port must be between 0 and 65535, got {self.https_port}")
        if self.tls and self.port and self.port == self.https_port:
            problems.append(f"the HTTP and HTTPS ports must differ, both are {self.port}")
        problems += self._app_problems()
        if problems:
            raise StackError("invalid stack settings:\n  " + "\n  ".join(problems))
        return self

    def _app_problems(self) -> list[str]:
        """What the app and gunicorn would refuse, in their words (app/config.py checks it)."""
        problems = []
        try:
            services = check_values(
                ServiceSettings, DATABASE_URL=self.database_url, REDIS_URL=self.redis_url
            )
            if services.is_sqlite:  # several instances, one database: SQLite is one process's
                problems.append(
                    "DATABASE_URL: must be a PostgreSQL URL (postgresql://user@host/db)"
                )
        except ConfigError as exc:
            problems += _lines(exc)
        gunicorn = {"WEB_CONCURRENCY": self.workers, "WORKER_CLASS": self.worker_class}
        try:
            check_values(
                ServerSettings, **{name: v for name, v in gunicorn.items() if v is not None}
            )
        except ConfigError as exc:
            problems += _lines(exc)
        return problems


def _lines(error: ConfigError) -> list[str]:
    """The problems a ConfigError lists, without its heading."""
    return [line.strip() for line in str(error).splitlines()[1:]]


def address_list(text: str) -> list[str]:
    """ "10.0.0.0/8, 127.0.0.1" -> ["10.0.0.0/8", "127.0.0.1"]; "none" -> [] (nobody)."""
    items = [item for item in re.split(r"[\s,]+", text.strip()) if item]
    return [] if items == ["none"] else items


def flag(name: str, text: str) -> bool:
    value = text.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise StackError(f"{name} must be 1 or 0 (true/false), got {text!r}")


_FIELDS = {setting.name for setting in fields(StackConfig)}


def from_environment(**overrides: object) -> StackConfig:
    """Config from DATABASE_URL, REDIS_URL and the STACK_* edge settings (STACK_WRITE_RATE,
    STACK_READ_RATE, STACK_MONITORING_FROM, STACK_BALANCER_FROM, STACK_TRUSTED_PROXIES,
    STACK_TLS), defaulting to local services."""
    config = StackConfig()
    for name, attr, default in (
        ("DATABASE_URL", "database_url", DEFAULT_DATABASE_URL),
        ("REDIS_URL", "redis_url", DEFAULT_REDIS_URL),
    ):
        value = os.environ.get(name, "").strip()
        if value:
            setattr(config, attr, value)
        else:
            config.notes.append(f"{name} is not set: using the local default {default}")
    if not os.environ.get("ADMIN_TOKEN"):
        config.notes.append("ADMIN_TOKEN is not set: there is no admin (GET /api/links is refused)")
    for name, attr in (("STACK_WRITE_RATE", "write_rate"), ("STACK_READ_RATE", "read_rate")):
        rate = os.environ.get(name, "").strip()
        if rate:
            setattr(config, attr, rate)
    for name, attr in (
        ("STACK_MONITORING_FROM", "monitoring_from"),
        ("STACK_BALANCER_FROM", "balancer_from"),
        ("STACK_TRUSTED_PROXIES", "trusted_proxies"),
    ):
        value = os.environ.get(name, "").strip()
        if value:
            setattr(config, attr, address_list(value))
    config.tls = flag("STACK_TLS", os.environ.get("STACK_TLS", ""))
    for key, override in overrides.items():
        if key not in _FIELDS:
            raise TypeError(f"StackConfig has no setting {key!r}")
        if override is not None:
            setattr(config, key, override)
    return config.validate()
