"""Pieces of the cache and click layers that need no service."""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping

import pytest

from app.cache import InProcessCache, LocalTable
from app.clicks import ClickCounter


def test_local_table_expires_entries(monkeypatch: pytest.MonkeyPatch) -> None:
    table = LocalTable(ttl=10)
    now = [1000.0]
    monkeypatch.setattr(time, "monotonic", lambda: now[0])
    table.put("a", "https://a.example/")
    assert table.get("a") == "https://a.example/"
    now[0] += 11
    assert table.get("a") is None


def test_local_table_is_bounded_oldest_first() -> None:
    table = LocalTable(ttl=60, max_entries=3)
    for code in "abcd":
        table.put(code, f"https://{code}.example/")
    assert table.get("a") is None
    assert [table.get(code) for code in "bcd"] == [f"https://{c}.example/" for c in "bcd"]


def test_in_process_cache_loads_once_and_forgets_after_an_invalidation() -> None:
    cache = InProcessCache(ttl=60)
    loads: list[str] = []

    def load(code: str) -> str:
        loads.append(code)
        return "https://example.com/"

    assert cache.resolve("x", load) == "https://example.com/"
    assert cache.resolve("x", load) == "https://example.com/"
    assert loads == ["x"]
    with cache.invalidating("x"):
        pass
    cache.resolve("x", load)
    assert loads == ["x", "x"]


def test_in_process_fill_racing_an_invalidation_is_dropped() -> None:
    cache = InProcessCache(ttl=60)

    def load_while_deleted(code: str) -> str:
        with cache.invalidating(code):
            pass
        return "https://stale.example/"

    cache.resolve("x", load_while_deleted)
    assert cache.resolve("x", lambda _code: None) is None


def test_failed_flush_keeps_the_clicks_for_the_next_attempt() -> None:
    written: list[dict[str, int]] = []
    healthy = threading.Event()

    def flush(batch: Mapping[str, int]) -> None:
        if not healthy.is_set():
            raise ConnectionError("database down")
        written.append(dict(batch))

    counter = ClickCounter(flush, interval=60)
    for _ in range(3):
        counter.record("a")
    counter.flush()
    assert written == []
    assert counter.pending("a") == 3
    counter.record("a")
    healthy.set()
    counter.close()
    assert written == [{"a": 4}]
    assert counter.pending("a") == 0


def test_background_flusher_runs_on_its_own() -> None:
    written: list[dict[str, int]] = []
    counter = ClickCounter(lambda batch: written.append(dict(batch)), interval=0.05)
    counter.record("b")
    deadline = time.monotonic() + 3
    while not written and time.monotonic() < deadline:
        time.sleep(0.01)
    counter.close()
    assert written == [{"b": 1}]


def test_a_count_read_while_a_batch_is_being_written_misses_none_of_its_clicks() -> None:
    stored: dict[str, int] = {}
    writing, release = threading.Event(), threading.Event()

    def slow_flush(batch: Mapping[str, int]) -> None:
        writing.set()
        release.wait(5)
        for code, n in batch.items():
            stored[code] = stored.get(code, 0) + n

    counter = ClickCounter(slow_flush, interval=60)
    counter.record("c")
    flusher = threading.Thread(target=counter.flush)
    flusher.start()
    assert writing.wait(5)
    seen: list[int] = []

    def read() -> None:  # what LinkService.get does: the database's count plus pending
        with counter.settled():
            seen.append(stored.get("c", 0) + counter.pending("c"))

    reader = threading.Thread(target=read)
    reader.start()
    release.set()
    reader.join(5)
    flusher.join(5)
    assert seen == [1]
