"""Background client load for the fault tests: threads that keep calling until told to stop."""

from __future__ import annotations

import itertools
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from tests.support.http_client import Reply

MAX_SECONDS = 120  # a safety bound: no load thread can outlive a broken test for long


@dataclass
class Outcome:
    name: str
    reply: Reply
    payload: object = None  # what the caller needs to check later (e.g. the code it wrote)


@dataclass
class Load:
    """Run `workers` callables in threads, each in a loop, recording every outcome."""

    workers: dict[str, Callable[[int], Outcome]]
    pause: float = 0.0  # seconds between two calls of one thread
    outcomes: list[Outcome] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _loop(self, work: Callable[[int], Outcome]) -> None:
        deadline = time.monotonic() + MAX_SECONDS
        for number in itertools.count():
            if self._stop.is_set() or time.monotonic() > deadline:
                return
            outcome = work(number)
            with self._lock:
                self.outcomes.append(outcome)
            if self.pause:
                self._stop.wait(self.pause)

    def __enter__(self) -> Load:
        for name, work in self.workers.items():
            thread = threading.Thread(target=self._loop, args=(work,), name=name, daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=30)

    def count(self) -> int:
        with self._lock:
            return len(self.outcomes)

    def wait_for(self, requests: int, timeout: float = 60) -> None:
        """Let at least `requests` more calls finish (bounded), so load overlaps what follows."""
        target = self.count() + requests
        deadline = time.monotonic() + timeout
        while self.count() < target and time.monotonic() < deadline:
            time.sleep(0.02)

    def failures(self, is_failure: Callable[[Reply], bool]) -> list[Outcome]:
        with self._lock:
            return [o for o in self.outcomes if is_failure(o.reply)]

    def statuses(self) -> Counter[int]:
        with self._lock:
            return Counter(o.reply.status for o in self.outcomes)
