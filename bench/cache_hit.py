"""`python -m bench.cache_hit`: what one cached lookup costs inside the app process.

The redirect's hot path is `RedisCache.resolve` on a level-1 hit: no network, only the checks
that keep memory correct. This times it in a loop against a real Redis (REDIS_URL, default the
local one, db 13) next to its references, the in-process cache (no invalidation channel at all)
and a bare dict lookup, so the price of those checks is visible. Figures are CPU ns per lookup
(process time: steadier than wall time on a shared machine), the median of several rounds;
compare ratios across machines, not absolute figures.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable

from app.cache import InProcessCache, RedisCache

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/13"
URL = "https://example.com/hot"


def _per_call_ns(call: Callable[[], object], calls: int, rounds: int) -> float:
    results = []
    for _ in range(rounds):
        started = time.process_time_ns()
        for _ in range(calls):
            call()
        results.append((time.process_time_ns() - started) / calls)
    return statistics.median(results)


def _warm(cache: RedisCache) -> None:
    """Resolve until level 1 answers (the invalidation channel is confirmed asynchronously)."""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        cache.resolve("hot", lambda _code: URL)
        if cache.resolve("hot", _no_database) == URL and cache.serves_from_memory():
            return
        time.sleep(0.01)
    raise SystemExit("level 1 never became trusted: is Redis reachable at REDIS_URL?")


def _no_database(code: str) -> str:
    raise AssertionError(f"{code}: a hit must not reach the database")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.cache_hit", description=__doc__)
    parser.add_argument("--calls", type=int, default=200_000, help="lookups per round")
    parser.add_argument("--rounds", type=int, default=5, help="rounds; the median is kept")
    args = parser.parse_args(argv)
    redis_url = os.environ.get("REDIS_URL") or DEFAULT_REDIS_URL

    cache = RedisCache(redis_url, ttl=3600, namespace="bench-cache-hit")
    try:
        _warm(cache)
        local = InProcessCache(ttl=3600)
        local.resolve("hot", lambda _code: URL)
        table = {"hot": URL}
        rows = [
            ("RedisCache.resolve, level-1 hit", lambda: cache.resolve("hot", _no_database)),
            ("InProcessCache.resolve, hit", lambda: local.resolve("hot", _no_database)),
            ("dict.get (floor)", lambda: table.get("hot")),
        ]
        print(f"| lookup | CPU ns per call (median of {args.rounds} x {args.calls:,}) |")
        print("|---|---:|")
        for label, call in rows:
            print(f"| {label} | {_per_call_ns(call, args.calls, args.rounds):,.0f} |")
    finally:
        cache.close()


if __name__ == "__main__":
    main()
