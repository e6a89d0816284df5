"""The memory level's lease, with a stand-in subscription: when memory may answer, exactly."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest

from app import local_cache
from app.local_cache import LEASE_SECONDS, SILENT_LIMIT_SECONDS, LocalLevel


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class StandInSubscription:
    """Messages a test queues; its socket is readable exactly while some are waiting."""

    def __init__(self) -> None:
        self._ours, self._theirs = socket.socketpair()
        self.connection = type("Connection", (), {"_sock": self._ours})()
        self.waiting: list[dict[str, Any]] = []
        self.pings: list[str] = []

    def arrive(self, kind: str, data: object) -> None:
        self.waiting.append({"type": kind, "data": data})
        self._theirs.send(b"x")

    def get_message(self, timeout: float = 0.0) -> dict[str, Any] | None:
        if not self.waiting:
            return None
        self._ours.recv(1)
        return self.waiting.pop(0)

    def ping(self, message: str) -> None:
        self.pings.append(message)

    def close(self) -> None:
        self._ours.close()
        self._theirs.close()


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr(local_cache.time, "monotonic", clock)
    return clock


@pytest.fixture
def level(clock: Clock) -> Iterator[tuple[LocalLevel, StandInSubscription]]:
    """A level subscribed at clock time 1000 (no keeper thread: the test plays its part)."""
    level = LocalLevel(client=None, channel="links:invalidate", ttl=60)  # type: ignore[arg-type]
    subscription = StandInSubscription()
    level._keeper = "played by the test"  # type: ignore[assignment]
    level._pubsub, level._socket = subscription, subscription.connection._sock
    level._poller = local_cache.select.poll()
    level._poller.register(level._socket, local_cache.select.POLLIN)
    level._proven_at = clock.now
    yield level, subscription
    subscription.close()


def test_memory_answers_only_within_the_lease_of_the_newest_proof(
    level: tuple[LocalLevel, StandInSubscription], clock: Clock
) -> None:
    memory, subscription = level
    assert memory.get("a") == (None, 0)  # not confirmed yet: off
    subscription.arrive("subscribe", 1)
    memory.put("a", "https://a.example/", memory.get("a")[1])
    assert memory.get("a")[0] == "https://a.example/"

    clock.now += LEASE_SECONDS - 0.01
    assert memory.get("a")[0] == "https://a.example/"
    clock.now += 0.02  # the subscription's proof is now older than the lease
    assert memory.get("a")[0] is None
    subscription.arrive("pong", f"{clock.now - 0.1:.6f}")  # a ping sent 0.1 s ago, answered
    assert memory.get("a")[0] == "https://a.example/"
    clock.now += LEASE_SECONDS - 0.1
    assert memory.get("a")[0] is None


def test_a_message_evicts_before_memory_answers_and_drops_a_racing_fill(
    level: tuple[LocalLevel, StandInSubscription],
) -> None:
    memory, subscription = level
    subscription.arrive("subscribe", 1)
    _, generation = memory.get("a")
    memory.put("a", "https://a.example/", generation)
    _, before_delete = memory.get("b")  # a lookup of b starts...
    subscription.arrive("message", "a")
    assert memory.get("a")[0] is None  # read from the socket before answering
    memory.put("b", "https://b.example/", before_delete)  # ...and its fill is dropped
    assert memory.get("b")[0] is None


def test_a_silent_subscription_is_replaced(
    level: tuple[LocalLevel, StandInSubscription], clock: Clock
) -> None:
    memory, subscription = level
    subscription.arrive("subscribe", 1)
    with memory._lock:
        memory._ping()
    assert len(subscription.pings) == 1
    clock.now += SILENT_LIMIT_SECONDS + 0.1
    with memory._lock:
        memory._ping()  # what the keeper does every interval
    assert memory._pubsub is None
    assert not memory.trusted()


def test_the_keeper_survives_an_unexpected_error() -> None:
    class Broken:
        def pubsub(self) -> None:
            raise TypeError("a bug, not a Redis error")

    memory = LocalLevel(client=Broken(), channel="links:invalidate", ttl=60)  # type: ignore[arg-type]
    assert not memory.trusted()  # starts the keeper
    time.sleep(0.3)
    assert memory._keeper is not None and memory._keeper.is_alive()
    memory.close()
