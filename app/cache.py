"""The cache layer: link lookups served from memory, kept correct across instances by Redis.

Two levels, cache-aside:
  1. a small per-process table (no network at all on a hit: the redirect hot path), trusted only
     under a lease its invalidation channel keeps renewing (app/local_cache.py);
  2. Redis (shared by every instance): GET on a local miss, SET after a database read.

The guarantee: once a delete has been acknowledged, no instance redirects its code more than
1 second later, whatever Redis does (crashes, hangs, restarts with or without its data, answers
slower than the client timeout, fails over, or is cut off from some instances only). It holds
because:

- A delete tells the cache first, and only a confirmed invalidation lets it proceed. In one
  transaction Redis writes a short-lived tombstone, removes the URL key and PUBLISHes the code;
  the row is deleted only after Redis has answered. If Redis cannot confirm within
  INVALIDATION_WAIT_SECONDS (a restart or a failover usually fits), `invalidating` raises
  CacheUnavailable and the link stays: the API answers 503 and the client retries. Refusing is
  what keeps the rule simple: no acknowledged delete ever depends on a message still in flight.
- Level 1 answers only under its lease (LEASE_SECONDS, 0.5 s), so an instance whose channel went
  silent stops using memory by itself; a message that arrives is applied before the next answer.
- Level 2 keys carry the run_id of the Redis process that holds them, read on every new
  connection. A server restarted from a snapshot or a promoted replica may hold keys from before
  an invalidation, but under another process's name: nobody reads them, they expire.
- The tombstone closes the cache-aside race: a reader that fetched the row just before the
  delete cannot put it back, because its fill is a SET-unless-tombstoned script, and inside one
  process a generation counter drops a memory fill that raced an eviction.
- A Redis reply is used at most REDIS_TIMEOUT_SECONDS after it was sent.

Redis down: level 1 is off, lookups go to the database, and a circuit breaker keeps each request
from paying a connection timeout. Reads never fail because of the cache; only a delete can, and
then nothing has changed. Nothing caches an absence, so a new link is followed correctly by every
instance as soon as its creation is acknowledged, whatever state Redis is in.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, suppress
from typing import Any, Protocol, cast

import redis
from redis.exceptions import NoScriptError, RedisError, ResponseError

from app import metrics
from app.local_cache import LocalLevel, LocalTable

log = logging.getLogger(__name__)

LOCAL_MAX_TTL_SECONDS = 300  # an entry's longest life in memory (correctness rests on the lease)
REDIS_RETRY_AFTER_SECONDS = 2.0  # circuit breaker: how long to stop trying a failing Redis
REDIS_TIMEOUT_SECONDS = 0.25  # a cache slower than this is worse than no cache
# A delete may wait longer than a read: it is rare, and refusing it costs the client a retry.
INVALIDATION_TIMEOUT_SECONDS = 1.0  # one attempt
INVALIDATION_WAIT_SECONDS = 3.0  # all attempts; then CacheUnavailable (nginx waits 35 s)
INVALIDATION_RETRY_SECONDS = 0.2


class CacheUnavailable(Exception):
    """Redis could not confirm an invalidation, so the change it guards must not be made."""


Loader = Callable[[str], str | None]


class LinkCache(Protocol):
    """What the link service needs from a cache (InProcessCache and RedisCache both are one)."""

    backend: str

    def resolve(self, code: str, load: Loader) -> str | None:
        """The target of `code`, from the cache or else from `load` (then remembered)."""

    def invalidating(self, code: str) -> AbstractContextManager[None]:
        """Wraps a write that removes `code`; raises CacheUnavailable before it when the cache
        cannot promise every reader forgets the code."""

    def serves_from_memory(self) -> bool:
        """Whether the per-process table may answer right now."""

    def status(self) -> dict[str, Any]:
        """For /readyz: {"status": "ok" | "degraded", "backend": ..., maybe "error": ...}."""

    def close(self) -> None:
        """Release connections and threads; the cache is not used afterwards."""


class InProcessCache:
    """The cache without Redis (`python run.py` with no services): one process, level 1 only."""

    backend = "in-process"

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

    @contextmanager
    def invalidating(self, code: str) -> Iterator[None]:
        """Around a write that removes `code`: forget it once the write is done."""
        yield
        with self._lock:
            self._table.evict(code)
            self._generation += 1

    def serves_from_memory(self) -> bool:
        return True

    def status(self) -> dict[str, Any]:
        return {"status": "ok", "backend": self.backend}

    def close(self) -> None:
        """Nothing to release: no connection, no thread."""


# KEYS[1] the cached URL, KEYS[2] the tombstone; ARGV[1] the URL, ARGV[2] the TTL in seconds.
FILL_UNLESS_TOMBSTONED = """
if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
return 1
"""
# Longer than a delete's database write (5 s statement timeout) and than any read-then-fill.
TOMBSTONE_SECONDS = 60
_RUN_ID = re.compile(r"^run_id:([0-9a-f]+)", re.MULTILINE)


class RedisCache:
    """Level 1 in memory + level 2 in Redis, with pub/sub invalidation across instances."""

    backend = "redis"

    def __init__(
        self, url: str, ttl: int, namespace: str = "links", verify_tls: bool = True
    ) -> None:
        self.ttl = ttl
        self.namespace = namespace
        self.channel = f"{namespace}:invalidate"
        options: dict[str, Any] = {
            "socket_connect_timeout": REDIS_TIMEOUT_SECONDS,
            "decode_responses": True,
            "redis_connect_func": self._on_connect,
            # RESP2: a PONG on a subscription is then an array no message can be mistaken for
            # (RESP3 sends a bare string, which redis-py 8 mis-parses once replies are decoded).
            "protocol": 2,
        }
        if not verify_tls and url.startswith("rediss://"):
            options["ssl_cert_reqs"] = "none"
        self.redis = redis.Redis.from_url(url, socket_timeout=REDIS_TIMEOUT_SECONDS, **options)
        self._writes = redis.Redis.from_url(
            url, socket_timeout=INVALIDATION_TIMEOUT_SECONDS, **options
        )
        self._fill_script = self.redis.register_script(FILL_UNLESS_TOMBSTONED)
        self._local = LocalLevel(self.redis, self.channel, min(ttl, LOCAL_MAX_TTL_SECONDS))
        self._server: str | None = None  # run_id of the Redis process the newest connection met
        self._down_until = 0.0

    def url_key(self, code: str) -> str:
        """Where `code`'s URL is cached in the Redis process the app talks to now."""
        return self._key("url", code, self._server)

    def tombstone_key(self, code: str) -> str:
        """Where a delete of `code` is remembered for TOMBSTONE_SECONDS, in that same process."""
        return self._key("deleted", code, self._server)

    def _key(self, kind: str, code: str, server: str | None) -> str:
        return f"{self.namespace}:{server}:{kind}:{code}"

    # -- public interface -------------------------------------------------------------------
    def resolve(self, code: str, load: Loader) -> str | None:
        """The target of `code`: level 1, else Redis, else `load` (the database) then fill both."""
        url, generation = self._local.get(code)
        if url is not None:
            return url
        server = self._server or self._redis_call(self._connect, self.redis)
        url = cast(
            str | None, self._redis_call(self._command, "GET", self._key("url", code, server))
        )
        if server is None or server != self._server:
            url = None  # another Redis process answered than the one the key was named for
        (metrics.REDIS_HIT if url else metrics.REDIS_MISS).inc()
        if url is not None:
            self._local.put(code, url, generation)
            return url
        url = load(code)
        if url is not None and server is not None:
            keys = [self._key("url", code, server), self._key("deleted", code, server)]
            filled = self._redis_call(self._fill, keys, url) == 1
            if filled and server == self._server:  # no tombstone: no delete raced this read
                self._local.put(code, url, generation)
        return url

    @contextmanager
    def invalidating(self, code: str) -> Iterator[None]:
        """Around a write that removes `code`: every instance is told first, confirmed by Redis.

        Raises CacheUnavailable before the write when Redis cannot confirm in time: the caller
        must then leave the link as it is. The tombstone set here refuses fills from reads
        that still see the row, until well after the write has committed.
        """
        server = self._invalidate_everywhere(code)
        yield
        if self._server != server:
            # A new Redis process appeared during the write, and has no tombstone: a read that
            # still saw the row could fill it. Tell it too (logged if it cannot be told).
            with suppress(CacheUnavailable):
                self._invalidate_everywhere(code)

    def serves_from_memory(self) -> bool:
        """Whether level 1 may answer right now (its channel has proved itself alive)."""
        return self._local.trusted()

    def status(self) -> dict[str, Any]:
        try:
            self.redis.ping()
        except RedisError as exc:
            return {"status": "degraded", "backend": self.backend, "error": type(exc).__name__}
        return {"status": "ok", "backend": self.backend}

    def close(self) -> None:
        """Stop the channel's keeper thread and close every connection."""
        self._local.close()
        self.redis.close()
        self._writes.close()

    # -- Redis ----------------------------------------------------------------------------------
    def _invalidate_everywhere(self, code: str) -> str:
        """Tombstone, delete and publish in one transaction, retried until Redis confirms;
        returns the Redis process that did."""
        deadline = time.monotonic() + INVALIDATION_WAIT_SECONDS
        while True:
            server = self._server
            try:
                if server is None:
                    self._connect(self._writes)
                else:
                    pipe = self._writes.pipeline(transaction=True)
                    pipe.set(self._key("deleted", code, server), 1, ex=TOMBSTONE_SECONDS)
                    pipe.delete(self._key("url", code, server))
                    pipe.publish(self.channel, code)
                    pipe.execute()
            except RedisError as exc:
                if time.monotonic() + INVALIDATION_RETRY_SECONDS >= deadline:
                    log.error("cache invalidation of %s not confirmed: %s", code, exc)
                    raise CacheUnavailable(f"Redis did not confirm: {exc}") from exc
                time.sleep(INVALIDATION_RETRY_SECONDS)
                continue
            if server is not None and server == self._server:
                return server
            # The Redis process was not known yet, or has changed: do it in its namespace.
            if time.monotonic() >= deadline:
                raise CacheUnavailable("the Redis process changed during the invalidation")

    def _command(self, *args: Any) -> Any:
        """One command's reply, on a pooled connection of the read client.

        The redirect's two commands go this way, not through Redis.execute_command: its retry
        policy and per-call bookkeeping cost about as much CPU as the command itself (measured:
        ~65 µs against ~39 µs per GET). A failure is raised at once and opens the breaker
        (_redis_call), which is all the retrying a read needs.
        """
        pool = self.redis.connection_pool
        connection: Any = pool.get_connection()  # redis-py's Connection is untyped
        try:
            connection.send_command(*args)
            return connection.read_response()
        except ResponseError:  # an error reply: the connection is in step, keep it
            raise
        except BaseException:
            connection.disconnect()  # a reply may still be on its way: never read it later
            raise
        finally:
            pool.release(connection)

    def _fill(self, keys: list[str], url: str) -> Any:
        """FILL_UNLESS_TOMBSTONED by its digest; by its text once Redis has forgotten it (a
        restart or SCRIPT FLUSH), which loads it again."""
        try:
            return self._command("EVALSHA", self._fill_script.sha, 2, *keys, url, self.ttl)
        except NoScriptError:
            return self._command("EVAL", FILL_UNLESS_TOMBSTONED, 2, *keys, url, self.ttl)

    def _connect(self, client: redis.Redis) -> str | None:
        """Open a connection (its handshake names the Redis process) and return that name."""
        pool = client.connection_pool
        pool.release(pool.get_connection())
        return self._server

    def _on_connect(self, connection: Any) -> None:
        """redis-py's handshake on every new connection, then: which Redis process is this?"""
        connection.on_connect()
        try:
            connection.send_command("INFO", "server")
            found = _RUN_ID.search(connection.read_response() or "")
            server = found.group(1)[:16] if found else "unknown"
        except ResponseError:  # INFO disabled (a managed service may rename it)
            server = "unknown"
        if server != self._server:
            if self._server is not None:
                log.warning(
                    "a new Redis process answers (restart or failover): keys cached in the "
                    "previous one are no longer read"
                )
            self._server = server

    def _redis_call(self, func: Any, *args: Any, **kwargs: Any) -> Any:
        """Run one Redis call; None (and the breaker opens) when Redis fails."""
        if time.monotonic() < self._down_until:
            return None
        try:
            return func(*args, **kwargs)
        except RedisError as exc:
            log.warning("Redis unavailable (%s); serving from the database", exc)
            self._down_until = time.monotonic() + REDIS_RETRY_AFTER_SECONDS
            self._local.drop(exc)
            return None


def make_cache(redis_url: str | None, ttl: int, verify_tls: bool = True) -> LinkCache:
    if not redis_url:
        return InProcessCache(ttl)
    return RedisCache(redis_url, ttl, verify_tls=verify_tls)
