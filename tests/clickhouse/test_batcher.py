"""The bounded batcher: batching, refusal when full, retry after an outage, drop on rejection, close."""

from __future__ import annotations

import threading
import time

from smarter_obs.errors import SinkError, SinkUnavailableError
from smarter_obs.sinks._batcher import Batcher


class Store:
    """Records written batches; can be made unavailable or rejecting."""

    def __init__(self) -> None:
        self.batches: list[list[list[int]]] = []
        self.down = threading.Event()
        self.reject = False

    def write(self, chunks: list[list[int]]) -> None:
        if self.down.is_set():
            raise SinkUnavailableError("connection refused")
        if self.reject:
            raise SinkError("type mismatch")
        self.batches.append(chunks)

    def rows(self) -> list[int]:
        return [row for batch in self.batches for chunk in batch for row in chunk]


def test_batches_by_size_and_flushes_the_rest_on_close() -> None:
    store = Store()
    batcher = Batcher(store.write, batch_size=100, max_pending=1000, interval=60)
    for start in range(0, 250, 10):
        assert batcher.offer(list(range(start, start + 10)))
    deadline = time.monotonic() + 5
    while len(store.rows()) < 200 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert len(store.rows()) == 200  # two full batches, the last 50 wait for the interval
    assert batcher.close(5)
    assert store.rows() == list(range(250))
    assert batcher.stats.written == 250 and batcher.stats.pending == 0


def test_outage_keeps_rows_refuses_when_full_then_recovers() -> None:
    store = Store()
    store.down.set()
    batcher = Batcher(store.write, batch_size=10, max_pending=50, interval=0.01, backoff=(0.01, 0.05))
    accepted = [batcher.offer([i] * 10) for i in range(8)]
    assert accepted == [True] * 5 + [False] * 3  # bounded: 50 rows held, the rest pushed back to the sender
    assert not batcher.flush(1)
    assert batcher.stats.store_available is False and batcher.stats.pending == 50
    assert batcher.stats.refused == 30
    store.down.clear()
    assert batcher.flush(5)
    assert sorted(store.rows()) == sorted(row for i in range(5) for row in [i] * 10)
    assert batcher.stats.store_available and batcher.stats.dropped == 0
    batcher.close(1)


def test_rejected_batch_is_dropped_and_counted() -> None:
    store = Store()
    store.reject = True
    batcher = Batcher(store.write, batch_size=5, max_pending=100, interval=0.01)
    assert batcher.offer([1, 2, 3, 4, 5])
    batcher.flush(2)
    store.reject = False
    assert batcher.offer([6])
    assert batcher.close(2)
    assert store.rows() == [6] and batcher.stats.dropped == 5


def test_close_during_outage_returns_false_promptly() -> None:
    store = Store()
    store.down.set()
    batcher = Batcher(store.write, batch_size=5, max_pending=100, interval=0.01, backoff=(5, 5))
    batcher.offer([1, 2])
    started = time.monotonic()
    assert batcher.close(1) is False
    assert time.monotonic() - started < 3
