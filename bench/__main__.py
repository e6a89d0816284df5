"""`python -m bench`: start a stack, load it with wrk from a second process, print the table.

Every path is measured in the same run as its references (nginx alone, a zero-work Flask
endpoint behind the same nginx + gunicorn), because ratios travel between machines and absolute
figures do not. Uses its own database (created and dropped) and Redis db 13.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
import redis

from bench import wrk
from stack import core, procs
from stack.config import BALANCING, WORKER_CLASSES, StackConfig, StackError

BENCH_REDIS_DB = 13
PRELOADED = 100_000  # distinct codes per round for the uncached walk: more than a run requests
# nginx's per-client limits (10 r/s writes, 50 r/s reads) would turn every run into a 429
# benchmark. These are the documented knobs (STACK_WRITE_RATE / STACK_READ_RATE), "off" here.
BENCH_WRITE_RATE = "off"
BENCH_READ_RATE = "off"

PATHS = {
    "nginx": ("(1) nginx alone", "/nginx-health", None),
    "zero": ("(2) zero-work Flask /healthz", "/healthz", None),
    "cached": ("(3) cached redirect", "/hot", None),
    "uncached": ("(4) uncached redirect", "/", "uncached.lua"),
    "create": ("(5) create link (POST)", "/api/links", "create.lua"),
    "redis": ("(6) flask-redis reference", "/bench/flask-redis", None),
}


def _with_path(url: str, path: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, path, "", ""))


def _machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    nginx_v = subprocess.run(["nginx", "-v"], capture_output=True, text=True, check=False).stderr
    mem_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    return (
        f"{os.cpu_count()} cores ({cpu}), {mem_gib:.0f} GiB RAM, Linux {platform.release()}, "
        f"Python {platform.python_version()}, {nginx_v.strip()}; load average now {load}"
    )


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=(
            "needs: wrk and nginx on PATH (Debian packages), a local PostgreSQL superuser on "
            "DATABASE_URL's server and Redis on REDIS_URL (defaults: the local services, as for "
            "`make stack`). Results and how to read them: docs/benchmarks.md."
        ),
    )
    parser.add_argument("--instances", type=int, default=2, help="app instances (default 2)")
    parser.add_argument(
        "--workers", type=int, help="gunicorn workers per instance (default: gunicorn.conf.py's)"
    )
    parser.add_argument(
        "--worker-class",
        choices=WORKER_CLASSES,
        help="gunicorn worker class (default: gunicorn.conf.py's, gthread)",
    )
    parser.add_argument(
        "--balancing",
        choices=BALANCING,
        default="least_conn",
        help="nginx upstream balancing (default least_conn)",
    )
    parser.add_argument("--duration", type=int, default=10, help="seconds per path (default 10)")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections (default 32)")
    parser.add_argument("--threads", type=int, default=1, help="wrk threads (default 1)")
    parser.add_argument(
        "--paths",
        default=",".join(PATHS),
        help=f"comma-separated subset of {','.join(PATHS)} (default: all)",
    )
    parser.add_argument(
        "--rounds", type=int, default=1, help="interleaved rounds, median kept (default 1)"
    )
    parser.add_argument("--no-p99-8", action="store_true", help="skip the 8-connection p99 run")
    args = parser.parse_args(argv)
    wanted = [p.strip() for p in args.paths.split(",") if p.strip()]
    unknown = sorted(set(wanted) - set(PATHS))
    if unknown:
        parser.error(f"unknown paths {unknown}; choose from {', '.join(PATHS)}")
    if not 1 <= args.duration <= 600 or not 1 <= args.connections <= 10_000:
        parser.error("duration must be 1..600 s and connections 1..10000")
    if not 1 <= args.rounds <= 9:
        parser.error("rounds must be 1..9")
    if not 1 <= args.threads <= args.connections:
        parser.error("threads must be between 1 and the number of connections")
    args.wanted = wanted
    return args


def _prepare(database_url: str, base_url: str, preload: int) -> None:
    with psycopg.connect(database_url, autocommit=True) as connection:
        connection.execute(
            "INSERT INTO links (code, url, clicks, created_at) "
            "SELECT 'u' || lpad(g::text, 6, '0'), 'https://example.com/page/' || g, 0, now() "
            "FROM generate_series(1, %s) AS g",
            (preload,),
        )
        connection.execute("ANALYZE links")
    created = _request(
        f"{base_url}/api/links", json.dumps({"url": "https://example.com/", "code": "hot"})
    )
    if created != 201:
        raise StackError(f"could not create the hot link: HTTP {created}")
    for _ in range(50):  # fill both cache levels on every instance and worker
        _request(f"{base_url}/hot")


def _request(url: str, json_body: str | None = None) -> int:
    """One request on a fresh connection, redirects not followed; its HTTP status."""
    data = json_body.encode() if json_body is not None else None
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        with opener.open(request, timeout=15) as response:
            return response.status
    except urllib.error.HTTPError as error:  # 3xx/4xx/5xx: the status is the answer
        return error.code


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def _measure(app_groups: set[int], binary: str, url: str, **options: Any) -> wrk.Result:
    """One wrk run, plus the app instances' CPU time per request during it."""
    cpu_before = procs.group_cpu_seconds(app_groups)
    result = wrk.run(binary, url, **options)
    cpu = procs.group_cpu_seconds(app_groups) - cpu_before
    result.app_cpu_us = cpu * 1e6 / max(result.requests, 1)
    return result


def _row(label: str, result: wrk.Result) -> str:
    errors = f" {result.error_detail}" if result.errors else ""
    return (
        f"| {label} | {result.requests_per_second:,.0f} | {result.p50_ms:.2f} | "
        f"{result.p99_ms:.2f} | {result.app_cpu_us:,.0f} |{errors}"
    )


def _ratio(results: dict[str, wrk.Result], a: str, b: str, target: str) -> str:
    """Throughput ratio, and the same ratio computed from app CPU per request."""
    name = f"{PATHS[a][0][:3]}/{PATHS[b][0][:3]}"
    if a not in results or b not in results:
        return f"| {name} | n/a | n/a | {target} |"
    rps = results[a].requests_per_second / results[b].requests_per_second
    cpu_a, cpu_b = results[a].app_cpu_us, results[b].app_cpu_us
    by_cpu = f"{cpu_b / cpu_a:.2f}" if cpu_a and cpu_b else "n/a"
    return f"| {name} | {rps:.2f} | {by_cpu} | {target} |"


def run(args: argparse.Namespace) -> int:
    binary = wrk.ensure_wrk()
    admin_url = os.environ.get("DATABASE_URL") or "postgresql://postgres@127.0.0.1:5432/test"
    redis_url = _with_path(
        os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379", f"/{BENCH_REDIS_DB}"
    )
    name = f"bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    database_url = _with_path(admin_url, f"/{name}")
    cache = redis.Redis.from_url(redis_url)
    cache.flushdb()
    state_dir = Path(tempfile.mkdtemp(prefix="bench-stack-"))
    results: dict[str, wrk.Result] = {}
    try:
        config = StackConfig(
            instances=args.instances,
            port=0,
            state_dir=state_dir,
            database_url=database_url,
            redis_url=redis_url,
            balancing=args.balancing,
            write_rate=BENCH_WRITE_RATE,
            read_rate=BENCH_READ_RATE,
            workers=args.workers,
            worker_class=args.worker_class,
            # The app's own write limits would cap the create path: off, as for any load test.
            app_env={"BENCH_ENDPOINTS": "true", "RATELIMIT_ENABLED": "false"},
        ).validate()
        state = core.up(config)
        # CPU time the app instances spend per request: unlike req/s, it barely moves when a
        # neighbour loads the machine, so it is the steadier basis for the ratios.
        app_groups = {i.proc.pid for i in state.instances if i.proc}
        preload = args.rounds * max(PRELOADED, args.duration * 6000)
        _prepare(database_url, state.url, preload)
        print(f"machine before: {_machine()}", flush=True)
        print(
            f"stack: {state.url}, {args.instances} instances, workers={args.workers or 'default'}"
            f", class={args.worker_class or 'default'}, {args.balancing}; "
            f"wrk -t{args.threads} -c{args.connections} -d{args.duration}s",
            flush=True,
        )
        # Rounds interleave the paths, so a neighbour's load on a shared machine hits all of them
        # alike; the table keeps each path's median round.
        rounds: dict[str, list[wrk.Result]] = {key: [] for key in args.wanted}
        slice_size = preload // args.rounds
        for round_number in range(args.rounds):
            for key in args.wanted:
                label, path, script = PATHS[key]
                script_args: tuple[str, ...] = ()
                if key == "uncached":  # its own slice of codes per round: every request misses
                    start = round_number * slice_size
                    script_args = (str(slice_size), str(args.threads), str(start))
                elif round_number == 0:  # warm-up (not for uncached: it would use up codes)
                    wrk.run(
                        binary,
                        state.url + path,
                        duration=2,
                        connections=args.connections,
                        threads=args.threads,
                        script=script,
                    )
                result = _measure(
                    app_groups,
                    binary,
                    state.url + path,
                    duration=args.duration,
                    connections=args.connections,
                    threads=args.threads,
                    script=script,
                    script_args=script_args,
                )
                rounds[key].append(result)
                print(f"round {round_number + 1} " + _row(label, result), flush=True)
                time.sleep(1)  # let clicks flush and sockets settle between runs
        for key, measured in rounds.items():
            results[key] = sorted(measured, key=lambda r: r.requests_per_second)[len(measured) // 2]
        p99_8 = None
        if "cached" in args.wanted and not args.no_p99_8:
            p99_8 = _measure(
                app_groups, binary, state.url + "/hot", duration=args.duration, connections=8
            )
    finally:
        core.down(state_dir)
        shutil.rmtree(state_dir, ignore_errors=True)  # logs of a throwaway stack
        cache.flushdb()
        cache.close()
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    print()
    print(f"machine after: {_machine()}")
    print()
    print("| path | req/s | p50 ms | p99 ms | app CPU µs/req |")
    print("|---|---:|---:|---:|---:|")
    for key in args.wanted:
        print(_row(PATHS[key][0], results[key]))
    if p99_8 is not None:
        print(_row("(3) cached redirect, 8 connections", p99_8))
    print()
    print("| ratio | by req/s | by app CPU/req | target |")
    print("|---|---:|---:|---|")
    print(_ratio(results, "cached", "zero", ">= 0.85"))
    print(_ratio(results, "uncached", "cached", ">= 0.5"))
    print(_ratio(results, "cached", "redis", ">= 1.5"))
    if p99_8 is not None:
        print(f"| p99 of (3) at 8 connections | {p99_8.p99_ms:.2f} ms | | <= 10 ms |")
    return 0 if all(result.ok for result in results.values()) else 1


def main(argv: list[str] | None = None) -> int:
    args = _parse_args(argv)
    try:
        return run(args)
    except StackError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except (psycopg.Error, redis.RedisError) as exc:
        print(f"error: PostgreSQL/Redis for the benchmark not usable: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
