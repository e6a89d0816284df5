"""Level 2's fills, sent by a thread of their own, many to a round trip.

A redirect that missed both cache levels has its URL from the database: the request answers with
it, and putting it in Redis is for the readers after it, so the request does not wait for that.
Its fill is queued; a filler thread sends whatever is queued in one pipelined round trip. Under
load a batch holds many fills and each costs a fraction of a round trip; alone, a fill goes out at
once. A fill is only a saving for a later read: when the queue is full, or the process is
stopping, it is dropped, and the next reader of that code reads the database again.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass

log = logging.getLogger(__name__)

BATCH_MAX = 100  # fills sent in one round trip at most
QUEUE_MAX = 2_000  # fills waiting at most


@dataclass(frozen=True)
class Fill:
    code: str
    url: str
    generation: int  # level 1's generation when the reader began (LocalLevel.put)
    server: str  # the Redis process the reader's keys were named for
    queued_at: float  # time.monotonic()


Send = Callable[[list[Fill]], None]


class FillQueue:
    def __init__(self, send: Send) -> None:
        self._send = send
        self._queued: list[Fill] = []
        self._in_flight = 0  # fills taken by the filler and not sent yet
        self._changed = threading.Condition()
        self._closed = False
        self._filler_pid: int | None = None  # the filler thread belongs to one process

    def add(self, fill: Fill) -> None:
        with self._changed:
            if self._closed or len(self._queued) >= QUEUE_MAX:
                return
            self._queued.append(fill)
            self._changed.notify_all()
            if self._filler_pid != os.getpid():
                self._filler_pid = os.getpid()
                threading.Thread(target=self._run, name="cache-filler", daemon=True).start()

    def wait_idle(self, timeout: float) -> bool:
        """Until nothing is queued or on its way; False if that took longer than `timeout`."""
        with self._changed:
            return self._changed.wait_for(lambda: not self._queued and not self._in_flight, timeout)

    def close(self) -> None:
        """Stop the filler; what is still queued is dropped."""
        with self._changed:
            self._closed = True
            self._queued.clear()
            self._changed.notify_all()

    def _run(self) -> None:
        while True:
            with self._changed:
                self._changed.wait_for(lambda: self._queued or self._closed)
                if self._closed:
                    return
                batch, self._queued = self._queued[:BATCH_MAX], self._queued[BATCH_MAX:]
                self._in_flight = len(batch)
            try:
                self._send(batch)
            except Exception:  # the thread must live on: without it nothing is filled again
                log.exception("cache fill failed")
            finally:
                with self._changed:
                    self._in_flight = 0
                    self._changed.notify_all()
