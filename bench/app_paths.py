"""`python -m bench.app_paths`: what a redirect miss and a create cost inside the app process.

The app is built as gunicorn builds it (create_app, the whole WSGI stack: ProxyFix, the lean
redirect layer, Flask) against a scratch PostgreSQL database (created on DATABASE_URL's server,
then dropped) and Redis db 13, and called directly with WSGI environs made beforehand: no
network client, no gunicorn, no nginx, so the figures are the app's own work plus its round trips
to PostgreSQL and Redis. Each figure is the median of several rounds, as wall and as CPU time
per request (CPU time barely moves when a neighbour loads the machine); compare the ratios to
the cached redirect, not absolute figures.

`--profile PATH` runs that path under pyinstrument (bench/requirements-profile.txt) and prints
where the time goes; `--statements` counts the SQL statements each path sends.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import time
from collections.abc import Callable
from typing import Any

import redis
from flask import Flask

from app import create_app
from app.config import Settings, load_settings
from app.migrate import upgrade
from bench.scratch import DEFAULT_ADMIN_URL, preload, scratch_database, with_path
from bench.statements import counting_statements

BENCH_REDIS_DB = 13
HOST = "bench.example"
PATHS = ("cached", "miss", "create", "api_get", "stats")


def _environ(method: str, path: str, body: bytes = b"") -> dict[str, Any]:
    return {
        "REQUEST_METHOD": method,
        "SCRIPT_NAME": "",
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_NAME": HOST,
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": HOST,
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_X_FORWARDED_FOR": "127.0.0.1",
        "HTTP_X_FORWARDED_PROTO": "http",
        "HTTP_X_FORWARDED_HOST": HOST,
        "CONTENT_TYPE": "application/json" if body else "",
        "CONTENT_LENGTH": str(len(body)) if body else "",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": io.StringIO(),
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
        "wsgi.version": (1, 0),
    }


def _call(app: Flask, environ: dict[str, Any]) -> str:
    status: list[str] = []

    def start_response(
        line: str, _headers: list[tuple[str, str]], _exc: Any = None
    ) -> Callable[[bytes], object]:
        status.append(line)
        return lambda _data: None

    body = app.wsgi_app(environ, start_response)
    for _ in body:
        pass
    if hasattr(body, "close"):
        body.close()
    return status[0]


class Requests:
    """The environs of each path, one per request, made before any clock starts."""

    def __init__(self, calls: int, first_code: int) -> None:
        self.calls = calls
        self.next_code = first_code

    def make(self, path: str) -> list[dict[str, Any]]:
        if path == "cached":
            return [_environ("GET", "/hot") for _ in range(self.calls)]
        if path == "miss":  # a preloaded code no earlier request asked for: both levels miss
            start, self.next_code = self.next_code, self.next_code + self.calls
            return [_environ("GET", f"/u{n:07d}") for n in range(start, start + self.calls)]
        if path == "create":
            body = json.dumps({"url": "https://example.com/created"}).encode()
            return [_environ("POST", "/api/links", body) for _ in range(self.calls)]
        if path == "api_get":
            return [_environ("GET", "/api/links/hot") for _ in range(self.calls)]
        if path == "stats":
            return [_environ("GET", "/links/hot") for _ in range(self.calls)]
        raise ValueError(path)


EXPECTED = {"cached": "302", "miss": "302", "create": "201", "api_get": "200", "stats": "200"}


def _time(app: Flask, path: str, environs: list[dict[str, Any]]) -> tuple[float, float]:
    """(wall µs, CPU µs) per request over these environs."""
    wall, cpu = time.perf_counter(), time.process_time()
    for environ in environs:
        status = _call(app, environ)
        if not status.startswith(EXPECTED[path]):
            raise SystemExit(f"{path}: {environ['PATH_INFO']} answered {status}")
    count = len(environs)
    return (
        (time.perf_counter() - wall) * 1e6 / count,
        (time.process_time() - cpu) * 1e6 / count,
    )


def _settings(database_url: str, redis_url: str) -> Settings:
    return load_settings(
        Settings,
        APP_ENV="testing",
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        SECRET_KEY="bench-app-paths-" + "x" * 32,
        APP_INSTANCE="bench",
        ALLOWED_HOSTS=HOST,
        RATELIMIT_ENABLED="false",
        LOG_LEVEL="WARNING",
    )


def _warm(app: Flask) -> None:
    """Create /hot and resolve it until this process's memory answers it."""
    body = json.dumps({"url": "https://example.com/", "code": "hot"}).encode()
    if not _call(app, _environ("POST", "/api/links", body)).startswith("201"):
        raise SystemExit("could not create the hot link")
    deadline = time.monotonic() + 5
    links = app.extensions["links"]
    while time.monotonic() < deadline:
        _call(app, _environ("GET", "/hot"))
        if links.cache.serves_from_memory():
            return
        time.sleep(0.01)
    raise SystemExit("the per-process cache never answered: is Redis reachable at REDIS_URL?")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.app_paths", description=__doc__)
    parser.add_argument("--calls", type=int, default=2_000, help="requests per round")
    parser.add_argument("--rounds", type=int, default=5, help="rounds; the median is kept")
    parser.add_argument("--paths", default=",".join(PATHS), help=f"subset of {','.join(PATHS)}")
    parser.add_argument("--profile", choices=PATHS, help="profile one path with pyinstrument")
    parser.add_argument(
        "--statements", action="store_true", help="count the SQL statements per request"
    )
    args = parser.parse_args(argv)
    wanted = [p for p in args.paths.split(",") if p]
    admin_url = os.environ.get("DATABASE_URL") or DEFAULT_ADMIN_URL
    redis_url = with_path(os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379", "/13")
    cache = redis.Redis.from_url(redis_url)
    cache.flushdb()
    misses = args.calls * (args.rounds + 1) + 10
    try:
        with scratch_database(admin_url) as database_url:
            upgrade(database_url)
            preload(database_url, 0, misses)
            app = create_app(_settings(database_url, redis_url))
            try:
                _run(app, args, wanted)
            finally:
                app.extensions["links"].close()
    finally:
        cache.flushdb()
        cache.close()


def _run(app: Flask, args: argparse.Namespace, wanted: list[str]) -> None:
    _warm(app)
    requests = Requests(args.calls, first_code=1)
    for path in wanted:  # warm-up: connections opened, statements compiled
        _time(app, path, requests.make(path)[:50])
    if args.profile:
        from pyinstrument import Profiler  # bench/requirements-profile.txt

        environs = requests.make(args.profile)
        profiler = Profiler(interval=0.0002)
        with profiler:
            _time(app, args.profile, environs)
        print(profiler.output_text(unicode=True, color=False, show_all=False))
        return
    if args.statements:
        print("| path | SQL statements per request |")
        print("|---|---|")
        for path in wanted:
            environs = requests.make(path)[:100]
            with counting_statements(app.extensions["links"].db.engines()) as seen:
                _time(app, path, environs)
            per = ", ".join(f"{word} {n / len(environs):g}" for word, n in sorted(seen.items()))
            print(f"| {path} | {per or 'none'} |")
        return
    rounds: dict[str, list[tuple[float, float]]] = {path: [] for path in wanted}
    for _ in range(args.rounds):
        for path in wanted:  # interleaved: a neighbour's load hits every path alike
            rounds[path].append(_time(app, path, requests.make(path)))
    wall = {path: statistics.median(r[0] for r in rounds[path]) for path in wanted}
    cpu = {path: statistics.median(r[1] for r in rounds[path]) for path in wanted}
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    print(f"load average {load}; {args.rounds} rounds x {args.calls:,} requests, medians")
    print("| path | wall µs/req | CPU µs/req | cached/path by wall | by CPU |")
    print("|---|---:|---:|---:|---:|")
    for path in wanted:
        by_wall = f"{wall['cached'] / wall[path]:.2f}" if "cached" in wall else "n/a"
        by_cpu = f"{cpu['cached'] / cpu[path]:.2f}" if "cached" in cpu else "n/a"
        print(f"| {path} | {wall[path]:,.0f} | {cpu[path]:,.0f} | {by_wall} | {by_cpu} |")


if __name__ == "__main__":
    main()
