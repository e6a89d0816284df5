"""Prometheus metrics. Under gunicorn, PROMETHEUS_MULTIPROC_DIR (set by gunicorn.conf.py) makes
every worker write to shared files, so /metrics on any worker reports the whole instance."""

from __future__ import annotations

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

REQUESTS = Counter(
    "http_requests_total", "HTTP requests answered", ["method", "endpoint", "status"]
)
LATENCY = Histogram(
    "http_request_duration_seconds",
    "Time to answer a request, in the app",
    ["method", "endpoint"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
CACHE_LOOKUPS = Counter(
    "link_cache_lookups_total", "Link lookups by cache level and result", ["level", "result"]
)
# Pre-bound children: the redirect hot path skips the label lookup.
LOCAL_HIT = CACHE_LOOKUPS.labels("local", "hit")
LOCAL_MISS = CACHE_LOOKUPS.labels("local", "miss")
REDIS_HIT = CACHE_LOOKUPS.labels("redis", "hit")
REDIS_MISS = CACHE_LOOKUPS.labels("redis", "miss")
CLICKS_FLUSHED = Counter("link_clicks_flushed_total", "Clicks written to the database")
DB_POOL_IN_USE = Gauge(
    "db_pool_connections_in_use",
    "Database connections checked out of the pool",
    multiprocess_mode="livesum",
)


def render() -> tuple[bytes, str]:
    if "PROMETHEUS_MULTIPROC_DIR" in os.environ:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
