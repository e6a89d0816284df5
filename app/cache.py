"""The cache layer: link lookups served from memory, kept correct across instances by Redis.

Two levels, cache-aside:
  1. a small per-process table (no network at all on a hit: the redirect hot path), trusted only
     while this process is subscribed to the invalidation channel;
  2. Redis (shared by every instance): GET on a local miss, SET after a database read.

A change (delete) writes a short-lived tombstone, removes the Redis key and PUBLISHes the code, in
one round trip. The tombstone closes the classic cache-aside race: an instance that read the row
just before the delete cannot put the old value back, because its fill is a SET-unless-tombstoned
script; inside one process a generation counter does the same for level 1.

Before answering from level 1, a process drains its subscription without blocking (one non-blocking
socket poll). Redis writes the message to every subscriber while it executes PUBLISH, before the
deleting instance has even had its reply, so by the time any client can see the delete succeed,
every other instance has the invalidation waiting on its socket and evicts before it answers.

Redis down: level 1 is dropped (invalidations could be missed), lookups go to the database, and a
circuit breaker keeps each request from paying a connection timeout. Nothing here raises to the
caller: the cache can only make things faster, never wrong or failed.
"""

from __future__ import annotations

import contextlib
import logging
import select
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import redis
from redis.exceptions import RedisError

from app import metrics

log = logging.getLogger(__name__)

LOCAL_MAX_ENTRIES = 10_000
LOCAL_MAX_TTL_SECONDS = 300  # bounds staleness even if an invalidation were ever lost
REDIS_RETRY_AFTER_SECONDS = 2.0  # circuit breaker: how long to stop trying a failing Redis
REDIS_TIMEOUT_SECONDS = 0.25  # a cache slower than this is worse than no cache


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


Loader = Callable[[str], str | None]


class InProcessCache:
    """The cache without Redis (`python run.py` with no services): one process, level 1 only."""

    backend = "in-process"
    redis = None

    def __init__(self, ttl: int) -> None:
        self._table = LocalTable(min(ttl, LOCAL_MAX_TTL_SECONDS))
        self._lock = threading.Lock()
        self._generation = 0

    def resolve(self, code: str, load: Loader) -> str | None:
        """The target of `code`: from memory, else from `load` (the database), then remembered."""
        with self._lock:
            url = self._table.get(code)
            generation = self._generation
        (metrics.LOCAL_HIT if url else metrics.LOCAL_MISS).inc()
        if url is not None:
            return url
        url = load(code)
        if url is not None:
            with self._lock:
                if generation == self._generation:  # no delete happened while we read the row
                    self._table.put(code, url)
        return url

    def invalidate(self, code: str) -> None:
        with self._lock:
            self._table.evict(code)
            self._generation += 1

    def status(self) -> dict[str, Any]:
        return {"status": "ok", "backend": self.backend}


# KEYS[1] the cached URL, KEYS[2] the tombstone; ARGV[1] the URL, ARGV[2] the TTL in seconds.
FILL_UNLESS_TOMBSTONED = """
if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
return 1
"""
TOMBSTONE_SECONDS = 60  # longer than any read-then-fill can take (statement_timeout is 5 s)


class RedisCache:
    """Level 1 in memory + level 2 in Redis, with pub/sub invalidation across instances."""

    backend = "redis"

    def __init__(
        self, url: str, ttl: int, namespace: str = "links", verify_tls: bool = True
    ) -> None:
        self.ttl = ttl
        self.namespace = namespace
        self.channel = f"{namespace}:invalidate"
        tls = {} if verify_tls or not url.startswith("rediss://") else {"ssl_cert_reqs": "none"}
        self.redis = redis.Redis.from_url(
            url,
            socket_timeout=REDIS_TIMEOUT_SECONDS,
            socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
            decode_responses=True,
            **tls,
        )
        self._fill = self.redis.register_script(FILL_UNLESS_TOMBSTONED)
        self._table = LocalTable(min(ttl, LOCAL_MAX_TTL_SECONDS))
        self._lock = threading.Lock()  # gthread workers share one table and one subscription
        self._generation = 0  # bumped by every eviction: a fill that raced one is dropped
        self._pubsub: Any = None
        self._subscribed = False
        self._poller: select.poll | None = None
        self._polled_socket: object = None
        self._down_until = 0.0

    def url_key(self, code: str) -> str:
        return f"{self.namespace}:url:{code}"

    def tombstone_key(self, code: str) -> str:
        return f"{self.namespace}:deleted:{code}"

    # -- public interface -------------------------------------------------------------------
    def resolve(self, code: str, load: Loader) -> str | None:
        """The target of `code`: level 1, else Redis, else `load` (the database) then fill both."""
        with self._lock:
            generation = self._generation
            if self._local_is_trustworthy():
                url = self._table.get(code)
                (metrics.LOCAL_HIT if url else metrics.LOCAL_MISS).inc()
                if url is not None:
                    return url
        url = self._redis_call(self.redis.get, self.url_key(code))
        (metrics.REDIS_HIT if url else metrics.REDIS_MISS).inc()
        if url is not None:
            self._remember_locally(code, url, generation)
            return url
        url = load(code)
        if url is not None:
            keys = [self.url_key(code), self.tombstone_key(code)]
            if self._redis_call(self._fill, keys=keys, args=[url, self.ttl]) == 1:
                self._remember_locally(code, url, generation)
        return url

    def invalidate(self, code: str) -> None:
        """Forget `code` here, in Redis and in every other instance's level 1."""
        with self._lock:
            self._table.evict(code)
            self._generation += 1
        pipe = self.redis.pipeline(transaction=True)
        pipe.set(self.tombstone_key(code), 1, ex=TOMBSTONE_SECONDS)
        pipe.delete(self.url_key(code))
        pipe.publish(self.channel, code)
        if self._redis_call(pipe.execute) is None:
            # Every instance dropped its level 1 when Redis failed, and Redis keys cannot be
            # served while it is down; but an entry that outlives this outage could be stale.
            log.error("cache invalidation of %s failed: Redis unavailable", code)

    def status(self) -> dict[str, Any]:
        try:
            self.redis.ping()
        except RedisError as exc:
            return {"status": "degraded", "backend": self.backend, "error": type(exc).__name__}
        return {"status": "ok", "backend": self.backend}

    # -- level 1 and its invalidation subscription ------------------------------------------
    def _remember_locally(self, code: str, url: str, generation: int) -> None:
        with self._lock:
            if self._local_is_trustworthy() and generation == self._generation:
                self._table.put(code, url)

    def _local_is_trustworthy(self) -> bool:
        """Apply pending invalidations; True when level 1 may answer. Caller holds the lock."""
        if time.monotonic() < self._down_until:
            return False
        try:
            if self._pubsub is None:
                self._pubsub = self.redis.pubsub()
                self._pubsub.subscribe(self.channel)
            if self._subscription_has_news():
                while (message := self._pubsub.get_message(timeout=0.0)) is not None:
                    self._handle(message)
        except (RedisError, OSError) as exc:
            self._lose_subscription(exc)
            return False
        return self._subscribed

    def _subscription_has_news(self) -> bool:
        """One poll(2) on the subscription's socket: about 2 us, where get_message costs ~9.

        Safe because every drain reads until redis-py's buffer is empty, so anything new must
        still be in the socket. A socket redis-py replaced after a reconnect is re-registered.
        """
        sock = getattr(self._pubsub.connection, "_sock", None)
        if sock is None or not self._subscribed:
            return True  # not connected or not confirmed yet: let redis-py do the work
        if sock is not self._polled_socket:
            self._poller = select.poll()
            self._poller.register(sock, select.POLLIN)
            self._polled_socket = sock
        return bool(self._poller.poll(0))

    def _handle(self, message: dict[str, Any]) -> None:
        if message["type"] == "message":
            self._table.evict(message["data"])
            self._generation += 1
        elif message["type"] == "subscribe":
            # Anything cached before the subscription existed may have missed an invalidation.
            self._table.clear()
            self._generation += 1
            self._subscribed = True

    def _lose_subscription(self, exc: BaseException) -> None:
        log.warning("cache invalidation channel lost (%s); memory level off", exc)
        self._table.clear()
        self._generation += 1
        self._subscribed = False
        if self._pubsub is not None:
            with contextlib.suppress(RedisError, OSError):
                self._pubsub.close()
        self._pubsub = None
        self._polled_socket = None
        self._down_until = time.monotonic() + REDIS_RETRY_AFTER_SECONDS

    # -- level 2 ------------------------------------------------------------------------------
    def _redis_call(self, func: Any, *args: Any, **kwargs: Any) -> Any:
        """Run one Redis call; None (and the breaker opens) when Redis fails."""
        if time.monotonic() < self._down_until:
            return None
        try:
            return func(*args, **kwargs)
        except RedisError as exc:
            log.warning("Redis unavailable (%s); serving from the database", exc)
            with self._lock:
                self._lose_subscription(exc)
            return None


LinkCache = InProcessCache | RedisCache


def make_cache(redis_url: str | None, ttl: int, verify_tls: bool = True) -> LinkCache:
    if not redis_url:
        return InProcessCache(ttl)
    return RedisCache(redis_url, ttl, verify_tls=verify_tls)
