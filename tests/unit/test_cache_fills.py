"""The fill queue: fills leave the request path, go out together, and never pile up."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from app import cache_fills
from app.cache_fills import Fill, FillQueue


def fill(n: int) -> Fill:
    return Fill(f"c{n}", f"https://example.com/{n}", generation=0, server="s", queued_at=0.0)


class Sender:
    """A send that records each batch and can be held, as a Redis round trip under way."""

    def __init__(self) -> None:
        self.batches: list[list[str]] = []
        self.release = threading.Event()
        self.release.set()
        self.entered = threading.Event()
        self.fail_next = False

    def __call__(self, fills: list[Fill]) -> None:
        self.entered.set()
        self.release.wait(10)
        self.batches.append([f.code for f in fills])
        if self.fail_next:
            self.fail_next = False
            raise ConnectionError("Redis went away")

    def hold(self) -> None:
        self.release.clear()
        self.entered.clear()


@pytest.fixture
def sender() -> Iterator[Sender]:
    sender = Sender()
    yield sender
    sender.release.set()


def test_fills_queued_during_a_round_trip_go_out_together_in_the_next(sender: Sender) -> None:
    queue = FillQueue(sender)
    sender.hold()
    queue.add(fill(0))  # returns at once: the request does not wait for its fill
    assert sender.entered.wait(5)
    for n in range(1, 6):
        queue.add(fill(n))
    sender.release.set()
    assert queue.wait_idle(5)
    assert sender.batches == [["c0"], ["c1", "c2", "c3", "c4", "c5"]]
    queue.close()


def test_a_full_queue_drops_new_fills_and_batches_stay_bounded(sender: Sender) -> None:
    queue = FillQueue(sender)
    sender.hold()
    queue.add(fill(0))
    assert sender.entered.wait(5)
    for n in range(1, cache_fills.QUEUE_MAX + 50):
        queue.add(fill(n))
    sender.release.set()
    assert queue.wait_idle(10)
    sent = [code for batch in sender.batches for code in batch]
    assert len(sent) == 1 + cache_fills.QUEUE_MAX  # the 49 over the limit were dropped
    assert sent[-1] == f"c{cache_fills.QUEUE_MAX}"
    assert max(len(batch) for batch in sender.batches) == cache_fills.BATCH_MAX
    queue.close()


def test_a_failed_round_trip_does_not_stop_the_filler(sender: Sender) -> None:
    queue = FillQueue(sender)
    sender.fail_next = True
    queue.add(fill(0))
    assert queue.wait_idle(5)
    queue.add(fill(1))
    assert queue.wait_idle(5)
    assert sender.batches == [["c0"], ["c1"]]
    queue.close()


def test_close_drops_what_is_queued_and_refuses_more(sender: Sender) -> None:
    queue = FillQueue(sender)
    sender.hold()
    queue.add(fill(0))
    assert sender.entered.wait(5)
    queue.add(fill(1))
    queue.close()
    queue.add(fill(2))
    sender.release.set()
    assert queue.wait_idle(5)
    assert sender.batches == [["c0"]]
