"""Prometheus metrics. Under gunicorn, PROMETHEUS_MULTIPROC_DIR (set by gunicorn.conf.py) makes
every worker write to shared files, so /metrics on any worker reports the whole instance."""

from __future__ import annotations

import glob
import os
from collections.abc import Iterable

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
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

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


class _SizedFilesCollector(Collector):
    """prometheus_client's multiprocess merge, minus the files still at 0 bytes.

    A worker creates its metrics file and only then sizes it (zero-filled, which reads as
    empty); a scrape that reads the file in between fails on its missing header, and takes
    every worker's metrics with it (/metrics answers 500). A worker killed in that moment
    leaves such a file for good. An empty file holds nothing yet: it is left out.
    """

    def __init__(self, path: str) -> None:
        self.path = path

    def collect(self) -> Iterable[Metric]:
        files = glob.glob(os.path.join(self.path, "*.db"))
        merged: Iterable[Metric] = multiprocess.MultiProcessCollector.merge(
            [name for name in files if _holds_data(name)]
        )
        return merged


def _holds_data(name: str) -> bool:
    try:
        return os.path.getsize(name) > 0
    except FileNotFoundError:  # an exited worker's file, removed since the listing
        return False


def render() -> tuple[bytes, str]:
    if "PROMETHEUS_MULTIPROC_DIR" in os.environ:
        registry = CollectorRegistry()
        registry.register(_SizedFilesCollector(os.environ["PROMETHEUS_MULTIPROC_DIR"]))
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
