"""`python -m bench`: start the app and its references, load them with wrk, print the tables.

Every figure is measured in the same run as its references, because ratios travel between
machines and absolute figures do not. The references live outside the app (bench/references/)
and are served exactly like it: the same gunicorn.conf.py (through WSGI_APP) behind the same
nginx policy, each as a local stack of its own. Rounds interleave the paths, so a neighbour's
load on a shared machine hits all of them alike; each figure is the median of its rounds.

With --links N (default 2,000,000; 0 skips it) a growth table compares every read at 10,000
links and at N links, preloaded by SQL (generate_series): two app stacks, each on a database of
its own, measured by turns in every round. Uses its own databases (created and dropped) and
Redis db 13.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg2
import redis
from flask import Flask
from flask.sessions import SecureCookieSessionInterface

from app.config import WORKER_CLASSES
from app.validation import encode_cursor
from app.web.my_links import KEEP as MY_LINKS_KEPT
from app.web.my_links import KEY as MY_LINKS_KEY
from bench import wrk
from bench.references.naive import LINK_KEY as NAIVE_LINK_KEY
from bench.scratch import DEFAULT_ADMIN_URL, preload, scratch_database, with_path
from stack import core, procs
from stack.config import BALANCING, StackConfig, StackError
from stack.state import State

BENCH_REDIS_DB = 13
SMALL = 10_000  # the growth table's first size
DEFAULT_LINKS = 2_000_000
# Distinct codes the uncached walk may use per second of load (more than it can request).
CODES_PER_SECOND = 6_000
HOT_TARGET = "https://example.com/"
# nginx's per-client limits (10 r/s writes, 50 r/s reads) would turn every run into a 429
# benchmark. These are the documented knobs (STACK_WRITE_RATE / STACK_READ_RATE), "off" here.
BENCH_WRITE_RATE = "off"
BENCH_READ_RATE = "off"

# The stacks: the app, and the references served by the very same settings. "small" is the app
# again, on the growth table's small database ("app" holds --links links).
STACKS = {
    "app": None,
    "small": None,
    "bare": "bench.references.bare_flask:app",
    "naive": "bench.references.naive:app",
}


@dataclass(frozen=True)
class Load:
    label: str
    stack: str
    path: str
    script: str | None = None
    connections: int | None = None  # None: --connections


LOADS = {
    "nginx": Load("nginx alone", "app", "/nginx-health"),
    "bare": Load("bare Flask, constant 302 (reference)", "bare", "/hot"),
    "naive": Load("naive shortener, GET+INCR per redirect (reference)", "naive", "/hot"),
    "cached": Load("cached redirect", "app", "/hot"),
    "uncached": Load("uncached redirect", "app", "/", "uncached.lua"),
    "create": Load("create link (POST)", "app", "/api/links", "create.lua"),
    "cached8": Load("cached redirect, 8 connections", "app", "/hot", connections=8),
    "bare8": Load("bare Flask, 8 connections (reference)", "bare", "/hot", connections=8),
}
# (numerator, denominator, target): throughput ratios measured in the same run.
RATIOS = (
    ("cached", "bare", 0.9),
    ("cached", "naive", 1.3),
    ("uncached", "cached", 0.5),
    ("create", "cached", 0.3),
)
P99_TARGET_MS = 10.0
GROWTH_TARGET = 1.5
GROWTH_READS = ("home", "list", "deep", "stats", "api_get", "uncached")
GROWTH_SIZES = ("small", "app")  # the app stacks holding 10,000 and --links links
# Per size (GROWTH_SIZES), per read (GROWTH_READS): each round's result, in order.
GrowthRounds = dict[str, dict[str, list[wrk.Result]]]
GROWTH_LABELS = {
    "home": f"home page ({MY_LINKS_KEPT} links of this browser)",
    "list": "list API, page 1",
    "deep": "list API, deep page (cursor at the middle)",
    "stats": "stats page",
    "api_get": "API get",
    "uncached": "uncached redirect",
}


@dataclass
class Links:
    """An app stack's database: its preloaded links u0000001.., and the uncached walk's place."""

    database_url: str
    preloaded: int = 0
    next_code: int = 1  # first preloaded code the uncached walk has not used yet


@dataclass
class Run:
    """What the loads need to know about the running stacks."""

    urls: dict[str, str]
    groups: dict[str, set[int]]
    binary: str
    links: dict[str, Links]  # per app stack: "app", and "small" with a growth table
    secret_key: str
    admin_token: str


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
            "`make stack-up`). Results and how to read them: docs/benchmarks.md."
        ),
    )
    # One instance per stack by default, as a deployed host runs one over all its cores: two on
    # the same two cores measure the CPU scheduler's queueing (bare Flask's p99 at 8
    # connections: 6-7 ms with one instance, 33-60 ms with two).
    parser.add_argument("--instances", type=int, default=1, help="instances per stack (default 1)")
    parser.add_argument(
        "--workers", type=int, help="gunicorn workers per instance (default: gunicorn.conf.py's)"
    )
    parser.add_argument(
        "--worker-class",
        choices=WORKER_CLASSES,
        help="gunicorn worker class (default: gunicorn.conf.py's, gthread)",
    )
    parser.add_argument(
        "--worker-threads",
        type=int,
        help="threads per gthread worker, THREADS (default: gunicorn.conf.py's)",
    )
    parser.add_argument(
        "--balancing",
        choices=BALANCING,
        default="least_conn",
        help="nginx upstream balancing (default least_conn)",
    )
    parser.add_argument("--duration", type=int, default=5, help="seconds per load (default 5)")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections (default 32)")
    parser.add_argument("--threads", type=int, default=1, help="wrk threads (default 1)")
    parser.add_argument(
        "--paths",
        default=",".join(LOADS),
        help=f"comma-separated subset of {','.join(LOADS)} (default: all)",
    )
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (default 3)")
    parser.add_argument(
        "--links",
        type=int,
        default=DEFAULT_LINKS,
        help=f"links for the growth table, compared with {SMALL:,} (default "
        f"{DEFAULT_LINKS:,}; 0: no growth table)",
    )
    parser.add_argument(
        "--growth-connections",
        type=int,
        default=4,
        help="wrk connections for the growth loads (default 4)",
    )
    args = parser.parse_args(argv)
    wanted = [p.strip() for p in args.paths.split(",") if p.strip()]
    unknown = sorted(set(wanted) - set(LOADS))
    if unknown:
        parser.error(f"unknown paths {unknown}; choose from {', '.join(LOADS)}")
    if not 1 <= args.duration <= 600 or not 1 <= args.connections <= 10_000:
        parser.error("duration must be 1..600 s and connections 1..10000")
    if not 1 <= args.rounds <= 9:
        parser.error("rounds must be 1..9")
    if not 1 <= args.threads <= min(args.connections, args.growth_connections):
        parser.error("threads must be between 1 and the number of connections")
    if args.worker_threads is not None and not 1 <= args.worker_threads <= 64:
        parser.error("worker threads must be 1..64")
    if args.links and not SMALL < args.links <= 50_000_000:
        parser.error(f"links must be 0 (no growth table) or {SMALL + 1:,}..50,000,000")
    args.wanted = wanted
    return args


def _preload(links: Links, upto: int) -> None:
    """Links u0000001.. up to `upto`, inserted by SQL (bench.scratch.preload)."""
    preload(links.database_url, links.preloaded, upto)
    links.preloaded = max(links.preloaded, upto)


def _middle_cursor(links: Links) -> str:
    """The `next` cursor of the page that ends half way down the list."""
    connection = psycopg2.connect(links.database_url)
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT created_at, id FROM links ORDER BY created_at DESC, id DESC "
                "OFFSET %s LIMIT 1",
                (links.preloaded // 2,),
            )
            row = cursor.fetchone()
            assert row is not None, "the preloaded links are there"
            created_at, link_id = row
    finally:
        connection.close()
    return encode_cursor(created_at, link_id)


def _session_cookie(secret_key: str, codes: list[str]) -> str:
    """The Cookie header of a browser that made these links (signed as the app signs it)."""
    signer = Flask(__name__)
    signer.secret_key = secret_key
    serializer = SecureCookieSessionInterface().get_signing_serializer(signer)
    assert serializer is not None
    return f"Cookie: session={serializer.dumps({MY_LINKS_KEY: codes})}"


def _request(url: str, json_body: str | None = None, headers: dict[str, str] | None = None) -> int:
    """One request on a fresh connection, redirects not followed; its HTTP status."""
    data = json_body.encode() if json_body is not None else None
    all_headers = {"Content-Type": "application/json", **(headers or {})}
    request = urllib.request.Request(url, data=data, headers=all_headers)
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        with opener.open(request, timeout=15) as response:
            status: int = response.status
            return status
    except urllib.error.HTTPError as error:  # 3xx/4xx/5xx: the status is the answer
        return error.code


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def _prepare_hot(run: Run, redis_url: str) -> None:
    """The `hot` link in every app stack (and in the naive reference), in every cache level."""
    for kind in run.links:
        body = json.dumps({"url": HOT_TARGET, "code": "hot"})
        created = _request(f"{run.urls[kind]}/api/links", body)
        if created != 201:
            raise StackError(f"{kind}: could not create the hot link: HTTP {created}")
    client = redis.Redis.from_url(redis_url)
    try:
        client.set(NAIVE_LINK_KEY + "hot", HOT_TARGET)
    finally:
        client.close()
    for name in run.urls:
        for _ in range(50):  # every instance and worker: both cache levels filled
            status = _request(f"{run.urls[name]}/hot")
            if status != 302:
                raise StackError(f"{name}: GET /hot answered {status}, not 302")


def _load(run: Run, key: str, args: argparse.Namespace, **options: Any) -> wrk.Result:
    """One wrk run, plus the stack's app processes' CPU time per request during it."""
    load = LOADS[key]
    groups = run.groups[load.stack]
    cpu_before = procs.group_cpu_seconds(groups)
    result = wrk.run(
        run.binary,
        run.urls[load.stack] + load.path,
        duration=args.duration,
        connections=load.connections or args.connections,
        threads=args.threads,
        script=load.script,
        **options,
    )
    cpu = procs.group_cpu_seconds(groups) - cpu_before
    result.app_cpu_us = cpu * 1e6 / max(result.requests, 1)
    return result


def _walk(links: Links, duration: int, threads: int, share: int = 1) -> tuple[str, ...]:
    """uncached.lua's arguments: a slice of codes no earlier load has requested.

    `share`: the walks still to come from what is preloaded now (at the growth table's small
    size there are fewer codes than a walk may use; each gets its share).
    """
    start = links.next_code - 1
    size = min(duration * CODES_PER_SECOND, (links.preloaded - start) // share)
    links.next_code += size
    if links.next_code - 1 > links.preloaded:
        raise StackError("the uncached walk ran out of preloaded codes")
    return (str(size), str(threads), str(start))


def _check_walk(result: wrk.Result, walk: tuple[str, ...]) -> wrk.Result:
    """A walk that ran out of codes repeats its last one, which is then cached: refuse the
    figure rather than print a cache hit rate as the uncached one."""
    if result.requests > int(walk[0]):
        raise StackError(
            f"the uncached walk made {result.requests:,} requests over {walk[0]} codes: "
            "too few preloaded codes for this rate (a shorter --duration, or more --links)"
        )
    return result


def _growth_uncached_seconds(args: argparse.Namespace) -> int:
    """The uncached read's duration at both growth sizes: as long as the small table's codes
    last at CODES_PER_SECOND (each round walks its own share of them), at most --duration."""
    duration: int = args.duration
    rounds: int = args.rounds
    return max(1, min(duration, SMALL // rounds // CODES_PER_SECOND))


def _main_rounds(run: Run, args: argparse.Namespace) -> dict[str, wrk.Result]:
    rounds: dict[str, list[wrk.Result]] = {key: [] for key in args.wanted}
    for round_number in range(args.rounds):
        for key in args.wanted:
            load = LOADS[key]
            script_args: tuple[str, ...] = ()
            if key == "uncached":  # its own slice of codes per round: every request misses
                script_args = _walk(run.links["app"], args.duration, args.threads)
            elif round_number == 0:  # warm-up (not for uncached: it would use up codes)
                wrk.run(
                    run.binary,
                    run.urls[load.stack] + load.path,
                    duration=2,
                    connections=load.connections or args.connections,
                    threads=args.threads,
                    script=load.script,
                )
            result = _load(run, key, args, script_args=script_args)
            if script_args:
                _check_walk(result, script_args)
            rounds[key].append(result)
            print(f"round {round_number + 1} " + _row(load.label, result), flush=True)
            time.sleep(1)  # let clicks flush and sockets settle between runs
    return {key: _median(measured) for key, measured in rounds.items()}


def _median(measured: list[wrk.Result]) -> wrk.Result:
    """Each figure the median of its rounds, on its own: a stall in one round (a worker being
    recycled, a neighbour's burst) moves that round's p99 a hundredfold and its req/s by a
    tenth, so the round of median req/s may carry an outlying p99."""
    errors = [r for r in measured if r.errors]
    return wrk.Result(
        requests_per_second=statistics.median(r.requests_per_second for r in measured),
        p50_ms=statistics.median(r.p50_ms for r in measured),
        p99_ms=statistics.median(r.p99_ms for r in measured),
        requests=min(r.requests for r in measured),
        errors=sum(r.errors for r in measured),
        error_detail="; ".join(r.error_detail for r in errors),
        app_cpu_us=statistics.median(r.app_cpu_us for r in measured),
    )


def _growth_loads(run: Run, kind: str) -> dict[str, tuple[str, tuple[str, ...]]]:
    """(path, wrk headers) of each read the growth table compares, on app stack `kind`."""
    admin = (f"Authorization: Bearer {run.admin_token}",)
    mine = [f"u{n:07d}" for n in range(1, MY_LINKS_KEPT + 1)]
    return {
        "home": ("/", (_session_cookie(run.secret_key, mine),)),
        "list": ("/api/links?per_page=20", admin),
        "deep": (f"/api/links?per_page=20&cursor={_middle_cursor(run.links[kind])}", admin),
        "stats": ("/links/hot", ()),
        "api_get": ("/api/links/hot", ()),
        "uncached": ("/", ()),
    }


def _growth_order(round_number: int, read_index: int) -> tuple[str, str]:
    """Which size goes first for a read in a round: by turns, so that over the rounds each size
    runs first as often as the other and a drift of the machine falls on both alike."""
    return GROWTH_SIZES if (round_number + read_index) % 2 == 0 else GROWTH_SIZES[::-1]


def _growth_rounds(run: Run, args: argparse.Namespace) -> GrowthRounds:
    """Every read at both sizes, --rounds times: per size, per read, the rounds' results in
    order. In a round, each read runs on both stacks back to back."""
    loads = {kind: _growth_loads(run, kind) for kind in GROWTH_SIZES}
    measured: dict[str, dict[str, list[wrk.Result]]] = {
        kind: {key: [] for key in GROWTH_READS} for kind in GROWTH_SIZES
    }
    for round_number in range(args.rounds):
        for read_index, key in enumerate(GROWTH_READS):
            for kind in _growth_order(round_number, read_index):
                path, headers = loads[kind][key]
                links = run.links[kind]
                script: str | None = None
                script_args: tuple[str, ...] = ()
                duration = args.duration
                if key == "uncached":
                    script = "uncached.lua"
                    duration = _growth_uncached_seconds(args)
                    share = args.rounds - round_number
                    script_args = _walk(links, duration, args.threads, share=share)
                result = wrk.run(
                    run.binary,
                    run.urls[kind] + path,
                    duration=duration,
                    connections=args.growth_connections,
                    threads=args.threads,
                    script=script,
                    script_args=script_args,
                    headers=headers,
                )
                if script_args:
                    _check_walk(result, script_args)
                measured[kind][key].append(result)
                label = f"growth at {links.preloaded:,} {_row(GROWTH_LABELS[key], result)}"
                print(label, flush=True)
    return measured


def _paired_cost(small: list[wrk.Result], large: list[wrk.Result]) -> float:
    """Cost per request at the large size over the small one (throughput small / large at the
    same connections): the median of each round's own ratio. The two sizes of a round ran back
    to back, so each round's ratio is free of the drift between rounds, which a ratio of the two
    sizes' medians would keep."""
    return statistics.median(
        one.requests_per_second / other.requests_per_second
        for one, other in zip(small, large, strict=True)
    )


def _row(label: str, result: wrk.Result) -> str:
    errors = f" {result.error_detail}" if result.errors else ""
    cpu = f"{result.app_cpu_us:,.0f}" if result.app_cpu_us else "n/a"
    return (
        f"| {label} | {result.requests_per_second:,.0f} | {result.p50_ms:.2f} | "
        f"{result.p99_ms:.2f} | {cpu} |{errors}"
    )


def _verdict(met: bool) -> str:
    return "met" if met else "**missed**"


def _print_tables(
    args: argparse.Namespace,
    results: dict[str, wrk.Result],
    growth: GrowthRounds | None,
) -> None:
    print()
    print(f"machine after: {_machine()}")
    print()
    print("| path | req/s | p50 ms | p99 ms | app CPU µs/req |")
    print("|---|---:|---:|---:|---:|")
    for key in args.wanted:
        print(_row(LOADS[key].label, results[key]))
    print()
    print("| ratio (same run) | by req/s | by app CPU/req | target | |")
    print("|---|---:|---:|---|---|")
    for top, bottom, target in RATIOS:
        if top not in results or bottom not in results:
            continue
        rps = results[top].requests_per_second / results[bottom].requests_per_second
        cpu_top, cpu_bottom = results[top].app_cpu_us, results[bottom].app_cpu_us
        by_cpu = f"{cpu_bottom / cpu_top:.2f}" if cpu_top and cpu_bottom else "n/a"
        print(
            f"| {top} / {bottom} | {rps:.2f} | {by_cpu} | >= {target} | {_verdict(rps >= target)} |"
        )
    if "cached8" in results:
        p99 = results["cached8"].p99_ms
        reference = f" (bare Flask: {results['bare8'].p99_ms:.2f} ms)" if "bare8" in results else ""
        print(
            f"| p99 of the cached redirect at 8 connections{reference} | {p99:.2f} ms | | "
            f"<= {P99_TARGET_MS:.0f} ms | {_verdict(p99 <= P99_TARGET_MS)} |"
        )
    if growth is None:
        return
    small = {key: _median(rounds) for key, rounds in growth["small"].items()}
    large = {key: _median(rounds) for key, rounds in growth["app"].items()}
    size = f"{args.links:,}"
    print()
    print(
        f"| read (wrk -c{args.growth_connections}) | p50 ms at {SMALL:,} | req/s at {SMALL:,} | "
        f"p50 ms at {size} | req/s at {size} | cost x | target | |"
    )
    print("|---|---:|---:|---:|---:|---:|---|---|")
    for key in GROWTH_READS:
        # Cost per request at a fixed number of connections: the inverse of throughput.
        growth_x = _paired_cost(growth["small"][key], growth["app"][key])
        print(
            f"| {GROWTH_LABELS[key]} | {small[key].p50_ms:.2f} | "
            f"{small[key].requests_per_second:,.0f} | {large[key].p50_ms:.2f} | "
            f"{large[key].requests_per_second:,.0f} | {growth_x:.2f} | <= {GROWTH_TARGET} | "
            f"{_verdict(growth_x <= GROWTH_TARGET)} |"
        )


@contextmanager
def _stack(
    kind: str,
    args: argparse.Namespace,
    database_url: str,
    redis_url: str,
    app_env: dict[str, str],
) -> Iterator[State]:
    state_dir = Path(tempfile.mkdtemp(prefix=f"bench-{kind}-"))
    env = dict(app_env)
    if args.worker_threads is not None:
        env["THREADS"] = str(args.worker_threads)
    if wsgi_app := STACKS[kind]:
        env["WSGI_APP"] = wsgi_app
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
        app_env=env,
    ).validate()
    try:
        yield core.up(config)
    finally:
        core.down(state_dir)
        shutil.rmtree(state_dir, ignore_errors=True)  # logs of a throwaway stack


def run(args: argparse.Namespace) -> int:
    binary = wrk.ensure_wrk()
    admin_url = os.environ.get("DATABASE_URL") or DEFAULT_ADMIN_URL
    redis_url = with_path(
        os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379", f"/{BENCH_REDIS_DB}"
    )
    secret_key, admin_token = secrets.token_hex(32), secrets.token_urlsafe(32)
    # The app's own write limits would cap the create path: off, as for any load test.
    app_env = {"RATELIMIT_ENABLED": "false", "SECRET_KEY": secret_key, "ADMIN_TOKEN": admin_token}
    cache = redis.Redis.from_url(redis_url)
    cache.flushdb()
    growth = None
    try:
        with ExitStack() as stacks:
            # The growth table's small size gets an app stack and a database of its own, so
            # that its rounds can alternate with the large size's instead of coming first.
            databases = {"app": stacks.enter_context(scratch_database(admin_url))}
            if args.links:
                databases["small"] = stacks.enter_context(scratch_database(admin_url))
            kinds = list(databases) + [
                k for k in ("bare", "naive") if any(LOADS[key].stack == k for key in args.wanted)
            ]
            states = {
                kind: stacks.enter_context(
                    _stack(kind, args, databases.get(kind, databases["app"]), redis_url, app_env)
                )
                for kind in kinds
            }
            run_ = Run(
                urls={kind: state.url for kind, state in states.items()},
                # CPU time the app processes spend per request: unlike req/s, it barely moves
                # when a neighbour loads the machine, so it is the steadier basis for ratios.
                groups={
                    kind: {i.proc.pid for i in state.instances if i.proc}
                    for kind, state in states.items()
                },
                binary=binary,
                links={kind: Links(url) for kind, url in databases.items()},
                secret_key=secret_key,
                admin_token=admin_token,
            )
            print(f"machine before: {_machine()}", flush=True)
            print(
                f"stacks: {', '.join(f'{k} {u}' for k, u in run_.urls.items())}; "
                f"{args.instances} instances each, workers={args.workers or 'default'}, "
                f"threads={args.worker_threads or 'default'}, "
                f"class={args.worker_class or 'default'}, {args.balancing}; "
                f"wrk -t{args.threads} -c{args.connections} -d{args.duration}s, "
                f"{args.rounds} rounds",
                flush=True,
            )
            main_codes = args.rounds * args.duration * CODES_PER_SECOND
            large = run_.links["app"]
            if args.links:
                _preload(run_.links["small"], SMALL)
                _preload(large, args.links)
                # Both stacks share the Redis db: the large one walks codes past the small
                # table's, which the small stack's walks put in Redis.
                large.next_code = SMALL + 1
                _prepare_hot(run_, redis_url)
                growth = _growth_rounds(run_, args)
            else:
                _prepare_hot(run_, redis_url)
            _preload(large, large.next_code + main_codes)
            results = _main_rounds(run_, args)
    finally:
        cache.flushdb()
        cache.close()
    _print_tables(args, results, growth)
    measured_growth = [r for reads in (growth or {}).values() for rs in reads.values() for r in rs]
    everything = list(results.values()) + measured_growth
    return 0 if all(result.ok for result in everything) else 1


def main(argv: list[str] | None = None) -> int:
    args = _parse_args(argv)
    try:
        return run(args)
    except StackError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except (psycopg2.Error, redis.RedisError) as exc:
        print(f"error: PostgreSQL/Redis for the benchmark not usable: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
