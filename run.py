"""Run the app locally with no services: `python run.py` (or `make run`).

With no environment at all it uses a SQLite file under instance/ and an in-process cache, applies
the migrations itself and serves on http://127.0.0.1:5000, answering the loopback names only
(ALLOWED_HOSTS). Set DATABASE_URL / REDIS_URL to use PostgreSQL and Redis instead. For
production, use gunicorn (see gunicorn.conf.py).

Exit codes: 3 invalid configuration, 4 database unreachable, 5 Redis unreachable (app/migrate.py).
"""

import logging
import os
import re
import sys
import time
from collections.abc import Callable
from typing import Any

import redis
from flask import Flask
from werkzeug.serving import WSGIRequestHandler

from app import create_app
from app.config import ConfigError, ServerSettings, Settings, load_settings
from app.migrate import (
    EXIT_CONFIG,
    EXIT_DATABASE,
    EXIT_REDIS,
    DatabaseUnreachableError,
    upgrade,
)

LOOPBACK_NAMES = "localhost,127.0.0.1,[::1]"


def redis_problem(settings: Settings) -> str | None:
    """One line naming REDIS_URL when its server does not answer, else None.

    A running app stays correct while Redis is down; at start, though, a person who set REDIS_URL
    wants to hear that it points nowhere rather than find out from slow pages.
    """
    if not settings.REDIS_URL:
        return None
    options = {} if settings.REDIS_TLS_VERIFY else {"ssl_cert_reqs": "none"}
    client = redis.Redis.from_url(
        settings.REDIS_URL, socket_connect_timeout=3, socket_timeout=3, **options
    )
    try:
        client.ping()
    except redis.RedisError as exc:
        where = settings.REDIS_URL.rsplit("@", 1)[-1]  # never print a password
        return f"REDIS_URL: cannot connect to {where}: {exc}"
    finally:
        client.close()
    return None


class QuietRequestHandler(WSGIRequestHandler):
    """werkzeug's own access line is written after the request is gone (no request id) and with
    terminal colour codes; the app writes one instead (log_requests)."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


class StripTerminalColours(logging.Filter):
    """werkzeug colours its start-up lines for a terminal; in a log line they are noise."""

    ESCAPES = re.compile(r"\x1b\[[0-9;]*m")

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = self.ESCAPES.sub("", str(record.msg))
        return True


def log_requests(app: Flask) -> None:
    """One plain access line per request, through the app's logging (with the request id).

    Written from the WSGI layer around the whole app: redirects are answered before Flask
    (app/fast_redirect.py), so Flask's hooks would not see them.
    """
    access = logging.getLogger("access")
    inner = app.wsgi_app

    def logged(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        started = time.perf_counter()

        def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            query = environ.get("QUERY_STRING", "")
            access.info(
                "%s %s %s %.1f ms",
                environ.get("REQUEST_METHOD", "-"),
                environ.get("PATH_INFO", "") + (f"?{query}" if query else ""),
                status.split(" ", 1)[0],
                (time.perf_counter() - started) * 1000,
                extra={"request_id": dict(headers).get("X-Request-ID")},
            )
            return start_response(status, headers, exc_info)

        return inner(environ, start)

    app.wsgi_app = logged  # type: ignore[method-assign]


def main() -> int:
    os.environ.setdefault("APP_ENV", "development")
    # The names a browser on this machine uses; set ALLOWED_HOSTS when serving on another address.
    os.environ.setdefault("ALLOWED_HOSTS", LOOPBACK_NAMES)
    os.environ.setdefault("PORT", "5000")  # Flask's usual port (gunicorn's default is 8000)
    try:
        settings = load_settings()
        server = load_settings(ServerSettings)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return EXIT_CONFIG
    host, port = server.HOST, server.PORT
    try:
        upgrade(settings.DATABASE_URL)
    except DatabaseUnreachableError as exc:
        print(exc, file=sys.stderr)
        return EXIT_DATABASE
    if problem := redis_problem(settings):
        print(problem, file=sys.stderr)
        return EXIT_REDIS
    app = create_app(settings)
    log_requests(app)
    logging.getLogger("werkzeug").addFilter(StripTerminalColours())
    print(f"flask-multitier on http://{host}:{port}/  (Ctrl+C to stop)", flush=True)
    app.run(host=host, port=port, debug=False, threaded=True, request_handler=QuietRequestHandler)
    return 0


if __name__ == "__main__":
    sys.exit(main())
