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


class PickyStore(Store):
    """Refuses any write holding a poisoned row, as ClickHouse refuses a whole insert for one bad row."""

    def __init__(self, poison: set[int], error: type[Exception] = SinkError) -> None:
        super().__init__()
        self.poison = poison
        self.error = error
        self.calls = 0
        self.down_after: int | None = None  # successful writes before an outage

    def write(self, chunks: list[list[int]]) -> None:
        self.calls += 1
        if self.down_after is not None and len(self.batches) >= self.down_after:
            self.down.set()
        if any(row in self.poison for chunk in chunks for row in chunk):
            if self.down.is_set():
                raise SinkUnavailableError("connection refused")
            raise self.error("a row violates a constraint")
        super().write(chunks)


def halves(chunk: list[int]) -> tuple[list[int], list[int]] | None:
    return (chunk[: len(chunk) // 2], chunk[len(chunk) // 2 :]) if len(chunk) > 1 else None


def test_a_rejected_row_is_isolated_and_every_other_row_written(caplog) -> None:
    store = PickyStore({13, 77})
    batcher = Batcher(
        store.write,
        batch_size=100,
        max_pending=1000,
        interval=60,
        split=halves,
        describe=lambda c: f"row {c}",
    )
    for start in range(0, 100, 10):
        assert batcher.offer(list(range(start, start + 10)))
    assert batcher.flush(5)
    assert store.rows() == [row for row in range(100) if row not in (13, 77)]
    stats = batcher.stats
    assert (stats.written, stats.rejected, stats.failed, stats.dropped, stats.pending) == (98, 2, 0, 2, 0)
    assert stats.store_available
    [warning] = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert "the store rejected 2 of 100 batcher" in warning and "row [13]" in warning
    batcher.close(1)


def test_an_outage_while_splitting_keeps_the_rest_and_writes_nothing_twice() -> None:
    store = PickyStore({55})
    store.down_after = 2  # two pieces get written, then the store goes away
    batcher = Batcher(
        store.write, batch_size=100, max_pending=1000, interval=60, split=halves, backoff=(0.01, 0.02)
    )
    for start in range(0, 100, 10):
        batcher.offer(list(range(start, start + 10)))
    assert not batcher.flush(1)
    assert batcher.stats.pending == 100 - len(store.rows()) and not batcher.stats.store_available
    store.down.clear()
    store.down_after = None
    assert batcher.flush(5)
    assert store.rows() == [row for row in range(100) if row != 55]  # each once, in order
    assert (batcher.stats.written, batcher.stats.rejected) == (99, 1)
    batcher.close(1)


def test_an_error_that_is_not_the_store_s_is_counted_as_failed() -> None:
    store = PickyStore({3}, error=OverflowError)
    batcher = Batcher(store.write, batch_size=10, max_pending=100, interval=60, split=halves)
    batcher.offer(list(range(10)))
    assert batcher.flush(5)
    assert (batcher.stats.written, batcher.stats.failed, batcher.stats.rejected) == (9, 1, 0)
    batcher.close(1)


def test_splitting_a_batch_the_store_refuses_whole_is_bounded() -> None:
    from smarter_obs.sinks._batcher import MAX_SPLITS

    store = PickyStore(set(range(10_000)))
    batcher = Batcher(store.write, batch_size=10_000, max_pending=10_000, interval=60, split=halves)
    batcher.offer(list(range(10_000)))
    assert batcher.flush(10)
    assert store.calls <= 2 * MAX_SPLITS + 1  # each split adds one piece to try
    assert (batcher.stats.written, batcher.stats.rejected, batcher.stats.pending) == (0, 10_000, 0)
    batcher.close(1)
