"""Click counting: a redirect adds 1 in memory; a background flush adds the batch in PostgreSQL.

Why not INCR in Redis per click: that is a network round trip on the redirect hot path, and this
Redis keeps nothing on disk, so counts would not survive its restart. Here the database does the
sharing: `UPDATE links SET clicks = clicks + n` is atomic, so every instance adds its own batch and
no increment is lost. A batch that fails to flush (database down) is kept and retried. A graceful
stop (gunicorn's worker_exit, or interpreter exit) flushes what is left; only a SIGKILL can lose
the clicks of the last flush interval (CLICK_FLUSH_SECONDS, 1 s by default).
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager

from app import metrics

log = logging.getLogger(__name__)

Flush = Callable[[Mapping[str, int]], None]


class ClickCounter:
    def __init__(self, flush: Flush, interval: float) -> None:
        self._flush = flush
        self._interval = interval
        self._pending: Counter[str] = Counter()
        self._lock = threading.Lock()
        # Held while a batch is on its way to the database: in that time its clicks are in
        # neither place a reader adds up (settled()).
        self._writing = threading.Lock()
        self._flusher_pid: int | None = None  # the flusher thread belongs to one process
        self._stop = threading.Event()

    def record(self, code: str) -> None:
        with self._lock:
            self._pending[code] += 1
        if self._flusher_pid != os.getpid():
            self._start_flusher()

    def pending(self, code: str) -> int:
        with self._lock:
            return self._pending[code]

    @contextmanager
    def settled(self) -> Iterator[None]:
        """While the block runs, no batch is between memory and the database: a count read
        from the database plus pending() is then every click, each once."""
        with self._writing:
            yield

    def flush(self) -> None:
        """Write the pending batch; on failure keep it for the next attempt."""
        with self._writing:
            with self._lock:
                batch, self._pending = self._pending, Counter()
            if not batch:
                return
            try:
                self._flush(batch)
            except Exception:
                log.warning("click flush failed; %d clicks kept for retry", sum(batch.values()))
                with self._lock:
                    self._pending.update(batch)
                return
        metrics.CLICKS_FLUSHED.inc(sum(batch.values()))

    def close(self) -> None:
        self._stop.set()
        atexit.unregister(self.close)
        self.flush()

    def _start_flusher(self) -> None:
        with self._lock:
            if self._flusher_pid == os.getpid():
                return
            self._flusher_pid = os.getpid()
            self._stop = threading.Event()
        thread = threading.Thread(target=self._run, name="click-flusher", daemon=True)
        thread.start()
        atexit.register(self.close)

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            self.flush()
