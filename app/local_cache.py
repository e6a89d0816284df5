"""Level 1 of the Redis-backed link cache: this process's own table, trusted only while it is
provably hearing every invalidation.

Entries are evicted by messages on a Redis pub/sub channel. A channel can go silent without
closing (Redis hung or stopped, a network partition, a failover that leaves the old socket
open): then nothing is evicted, and a link deleted elsewhere would be served from memory for as
long as its entry lives. So the table answers only under a lease that the channel must keep
renewing:

- a keeper thread sends `PING <send time>` on the subscription every PING_INTERVAL_SECONDS;
- Redis answers on the same connection, in order, after every message it published before it
  read that PING; so once the PONG of a ping sent at time t has been read, every invalidation
  published before t has been applied here;
- the table answers until t + LEASE_SECONDS, and not after.

A silent channel therefore turns level 1 off by itself within the lease, whatever the cause, and
no entry outlives its invalidation by more than LEASE_SECONDS. The subscription confirmation
proves the channel the same way (memory is emptied when it arrives: anything older may have
missed a message). No answer at all for SILENT_LIMIT_SECONDS means the connection is dead: it
is closed and a new subscription made.

On the request path the check costs one poll(2) on the subscription's socket and a clock read;
messages are parsed only when there are some, and the deleting instance's PUBLISH reaches every
subscriber's socket before its own reply, so in the normal case an eviction is immediate.
"""

from __future__ import annotations

import contextlib
import logging
import select
import threading
import time
from collections import OrderedDict
from typing import Any

import redis
from redis.exceptions import RedisError

from app import metrics

log = logging.getLogger(__name__)

LOCAL_MAX_ENTRIES = 10_000
LEASE_SECONDS = 0.5  # half the delete guarantee (1 s): the rest is margin for a busy process
PING_INTERVAL_SECONDS = 0.1  # several renewals per lease, so one late ping costs nothing
SILENT_LIMIT_SECONDS = 3.0  # a subscription unanswered this long is replaced
RESUBSCRIBE_AFTER_SECONDS = 2.0  # pause between attempts while Redis cannot be reached


class LocalTable:
    """Bounded code -> (url, expiry) table; oldest entries go first when full."""

    def __init__(self, ttl: float, max_entries: int = LOCAL_MAX_ENTRIES) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self._entries: OrderedDict[str, tuple[str, float]] = OrderedDict()

    def get(self, code: str) -> str | None:
        entry = self._entries.get(code)
        if entry is None:
            return None
        url, expires_at = entry
        if expires_at < time.monotonic():
            self._entries.pop(code, None)
            return None
        return url

    def put(self, code: str, url: str) -> None:
        self._entries[code] = (url, time.monotonic() + self.ttl)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    def evict(self, code: str) -> None:
        self._entries.pop(code, None)

    def clear(self) -> None:
        self._entries.clear()


class LocalLevel:
    """The table, the subscription that evicts from it, and the lease that says when to trust it.

    One lock guards all three: gthread workers share them, and the keeper thread renews the lease
    under the same lock. A generation counter, bumped by every eviction, lets a caller that read
    Redis or the database drop its fill if an eviction happened meanwhile.
    """

    def __init__(self, client: redis.Redis, channel: str, ttl: float) -> None:
        self._client = client
        self._channel = channel
        self._table = LocalTable(ttl)
        self._lock = threading.Lock()
        self._generation = 0
        self._pubsub: Any = None
        self._socket: object = None
        self._poller: Any = None
        self._subscribed = False  # the confirmation has been read: messages flow from here on
        self._proven_at = 0.0  # send time of the newest PING (or SUBSCRIBE) answered
        self._retry_at = 0.0
        self._keeper: threading.Thread | None = None
        self._closed = threading.Event()

    # -- the request path ---------------------------------------------------------------------
    def get(self, code: str) -> tuple[str | None, int]:
        """(URL or None, generation): the URL only when level 1 has it and may answer."""
        with self._lock:
            if not self._trusted():
                return None, self._generation
            url = self._table.get(code)
            (metrics.LOCAL_HIT if url else metrics.LOCAL_MISS).inc()
            return url, self._generation

    def put(self, code: str, url: str, generation: int) -> None:
        """Remember `url` unless an eviction happened since `get` returned `generation`."""
        with self._lock:
            if generation == self._generation:
                self._table.put(code, url)

    def evict(self, code: str) -> None:
        with self._lock:
            self._table.evict(code)
            self._generation += 1

    def trusted(self) -> bool:
        with self._lock:
            return self._trusted()

    def drop(self, reason: BaseException) -> None:
        """Redis failed elsewhere: presume the channel lost too, and resubscribe later."""
        with self._lock:
            self._lose(reason)

    def close(self) -> None:
        self._closed.set()
        with self._lock:
            self._close_subscription()

    def _trusted(self) -> bool:
        """Apply pending messages; True while the lease holds. Caller holds the lock."""
        if self._poller is None:
            if self._keeper is None:
                self._start_keeper()
            return False
        if self._poller.poll(0):
            try:
                self._drain()
            except (RedisError, OSError) as exc:
                self._lose(exc)
                return False
        return self._subscribed and time.monotonic() < self._proven_at + LEASE_SECONDS

    # -- the subscription -----------------------------------------------------------------------
    def _drain(self) -> None:
        """Read everything waiting (redis-py's buffer too, so that poll(2) sees anything new)."""
        if getattr(self._pubsub.connection, "_sock", None) is not self._socket:
            raise ConnectionError("the subscription's connection was replaced")
        while (message := self._pubsub.get_message(timeout=0.0)) is not None:
            kind = message["type"]
            if kind == "message":
                self._table.evict(message["data"])
                self._generation += 1
            elif kind == "pong":
                with contextlib.suppress(ValueError):
                    self._proven_at = max(self._proven_at, float(message["data"]))
            elif kind == "subscribe":
                # Anything cached before the subscription existed may have missed a message.
                self._table.clear()
                self._generation += 1
                self._subscribed = True

    def _lose(self, reason: BaseException) -> None:
        if self._pubsub is not None:
            log.warning("cache invalidation channel lost (%s); memory level off", reason)
        self._close_subscription()
        self._table.clear()
        self._generation += 1
        self._retry_at = time.monotonic() + RESUBSCRIBE_AFTER_SECONDS

    def _close_subscription(self) -> None:
        if self._pubsub is not None:
            with contextlib.suppress(RedisError, OSError):
                self._pubsub.close()
        self._pubsub = self._socket = self._poller = None
        self._subscribed = False

    def _subscribe(self) -> None:
        """Open a new subscription; outside the lock, so requests never wait on a connect."""
        pubsub = self._client.pubsub()
        sent_at = time.monotonic()
        try:
            pubsub.subscribe(self._channel)
            sock = pubsub.connection._sock
            poller = select.poll()
            poller.register(sock, select.POLLIN)
        except (RedisError, OSError, AttributeError) as exc:
            with contextlib.suppress(RedisError, OSError):
                pubsub.close()
            log.warning("cache invalidation channel unavailable (%s); memory level off", exc)
            self._retry_at = time.monotonic() + RESUBSCRIBE_AFTER_SECONDS
            return
        with self._lock:
            if self._closed.is_set():
                pubsub.close()
                return
            self._pubsub, self._socket, self._poller = pubsub, sock, poller
            self._proven_at = sent_at  # SUBSCRIBE is answered like a PING: its confirmation
            self._ping()

    def _ping(self) -> None:
        """Read what arrived, then ask for a new proof. Caller holds the lock."""
        try:
            self._drain()
            if time.monotonic() - self._proven_at > SILENT_LIMIT_SECONDS:
                raise ConnectionError(f"no answer for {SILENT_LIMIT_SECONDS:.0f} s")
            self._pubsub.ping(f"{time.monotonic():.6f}")
        except (RedisError, OSError) as exc:
            self._lose(exc)

    def _start_keeper(self) -> None:
        self._keeper = threading.Thread(target=self._keep, name="cache-channel", daemon=True)
        self._keeper.start()

    def _keep(self) -> None:
        """The keeper thread: subscribe when there is no subscription, else renew the lease."""
        while not self._closed.is_set():
            try:
                if self._pubsub is None:
                    if time.monotonic() >= self._retry_at:
                        self._subscribe()
                else:
                    with self._lock:
                        if self._pubsub is not None:
                            self._ping()
            except Exception:  # the thread must live on: without it memory stays off for good
                log.exception("cache invalidation channel keeper failed; trying again")
                self._retry_at = time.monotonic() + RESUBSCRIBE_AFTER_SECONDS
            self._closed.wait(PING_INTERVAL_SECONDS)
