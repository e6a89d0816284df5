"""What a stack is made of, validated before anything starts."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_STATE_DIR = REPO_ROOT / ".run" / "stack"
# Used only when the environment names no service, and `up` says so.
DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/test"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"

MAX_INSTANCES = 16
BALANCING = ("least_conn", "round_robin")
WORKER_CLASSES = ("sync", "gthread", "gevent")
_RATE = re.compile(r"^([1-9][0-9]{0,6}r/[sm]|off)$")
_DB_SCHEMES = ("postgresql://", "postgres://", "postgresql+psycopg://", "postgresql+psycopg2://")
_REDIS_SCHEMES = ("redis://", "rediss://", "unix://")


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
    # Rendered into the copy of nginx/http.conf; None keeps the policy's own rate.
    write_rate: str | None = None
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
        if self.write_rate is not None and not _RATE.match(self.write_rate):
            problems.append(
                f"write rate must look like 10r/s or 600r/m (nginx limit_req_zone rate) or be off, "
                f"got {self.write_rate!r}"
            )
        if self.workers is not None and not 1 <= self.workers <= 64:
            problems.append(f"workers must be between 1 and 64, got {self.workers}")
        if self.worker_class is not None and self.worker_class not in WORKER_CLASSES:
            problems.append(f"worker class must be one of {', '.join(WORKER_CLASSES)}")
        if not self.database_url.startswith(_DB_SCHEMES):
            problems.append("DATABASE_URL must be a PostgreSQL URL (postgresql://user@host/db)")
        if not self.redis_url.startswith(_REDIS_SCHEMES):
            problems.append("REDIS_URL must start with redis://, rediss:// or unix://")
        if problems:
            raise StackError("invalid stack settings:\n  " + "\n  ".join(problems))
        return self


def from_environment(**overrides: object) -> StackConfig:
    """Config from DATABASE_URL, REDIS_URL and STACK_WRITE_RATE, defaulting to local services."""
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
    rate = os.environ.get("STACK_WRITE_RATE", "").strip()
    if rate:
        config.write_rate = rate
    for key, value in overrides.items():
        if value is not None:
            setattr(config, key, value)
    return config.validate()
