"""A bounded, thread-backed batcher in front of a sink.

Producers ``offer`` chunks (anything with a size, e.g. a block of columns); one worker thread hands them to
``flush`` in batches of at least ``batch_size`` rows or every ``interval`` seconds. Memory is bounded by
``max_pending`` rows: when full, ``offer`` refuses the whole chunk and returns False so the producer can push
back (an OTLP receiver answers 503). A retryable flush failure (SinkUnavailableError) keeps the batch and
backs off; any other failure drops the batch, counts and logs it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from smarter_obs.errors import SinkUnavailableError

__all__ = ["Batcher", "BatcherStats"]

log = logging.getLogger(__name__)

C = TypeVar("C")

#: Seconds between two identical warnings, so an outage does not flood the log.
_LOG_EVERY = 20.0


@dataclass
class BatcherStats:
    """Counters in rows (plus batches for failures)."""

    accepted: int = 0
    written: int = 0
    refused: int = 0  # offered while full, given back to the producer
    dropped: int = 0  # flushed but rejected by the sink for good
    failed_flushes: int = 0
    pending: int = 0
    store_available: bool = True


class Batcher(Generic[C]):
    """Batch chunks for ``flush(list_of_chunks)``; see the module docstring."""

    def __init__(
        self,
        flush: Callable[[list[C]], object],
        *,
        size: Callable[[C], int] = len,  # type: ignore[assignment]
        batch_size: int = 10_000,
        max_pending: int = 200_000,
        interval: float = 1.0,
        backoff: tuple[float, float] = (0.5, 30.0),
        name: str = "batcher",
    ) -> None:
        if batch_size <= 0 or max_pending < batch_size:
            raise ValueError("need 0 < batch_size <= max_pending")
        self._flush = flush
        self._size = size
        self.batch_size = batch_size
        self.max_pending = max_pending
        self.interval = interval
        self._backoff_min, self._backoff_max = backoff
        self.name = name
        self.stats = BatcherStats()
        self._queue: deque[tuple[C, int]] = deque()
        self._cond = threading.Condition()
        self._flush_requested = 0
        self._flushes_done = 0
        self._closing = False
        self._abandoned = False
        self._closed = False
        self._retry_at = 0.0
        self._backoff = self._backoff_min
        self._last_log = 0.0
        self._thread = threading.Thread(target=self._run, name=f"smarter-obs-{name}", daemon=True)
        self._thread.start()

    # -- producer side -------------------------------------------------------------------------------
    def offer(self, chunk: C) -> bool:
        """Queue ``chunk`` entirely, or return False (nothing queued) when it does not fit."""
        rows = self._size(chunk)
        with self._cond:
            if self._closing:
                raise RuntimeError(f"{self.name} is closed")
            if rows == 0:
                return True
            if self.stats.pending + rows > self.max_pending:
                self.stats.refused += rows
                return False
            self._queue.append((chunk, rows))
            self.stats.pending += rows
            self.stats.accepted += rows
            if self.stats.pending >= self.batch_size:
                self._cond.notify_all()
            return True

    @property
    def store_available(self) -> bool:
        return self.stats.store_available

    def retry_after(self) -> float:
        """Seconds until the next write attempt (0 when the store looks available)."""
        with self._cond:
            return max(0.0, self._retry_at - time.monotonic()) if not self.stats.store_available else 0.0

    def flush(self, timeout: float | None = None) -> bool:
        """Write everything queued now; True when the queue was emptied within ``timeout``."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            self._flush_requested += 1
            target = self._flush_requested
            self._retry_at = 0.0  # an explicit flush tries right away
            self._cond.notify_all()
            while self._flushes_done < target and not self._closed:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return False
                self._cond.wait(remaining)
            return self.stats.pending == 0

    def close(self, timeout: float | None = 10.0) -> bool:
        """Stop accepting, flush what is queued (within ``timeout``), stop the worker.

        True when nothing was lost."""
        with self._cond:
            if self._closing:
                return self.stats.pending == 0
        ok = self.flush(timeout)
        with self._cond:
            self._closing = True
            self._cond.notify_all()
        self._thread.join(timeout=None if timeout is None else max(timeout, 0.1))
        with self._cond:  # past the deadline: no further batch, but a write already running cannot be
            self._abandoned = True  # recalled, so its outcome is waited for and counted once, here
            self._cond.notify_all()
        self._thread.join()
        with self._cond:
            if self.stats.pending:
                log.warning("%s: %d rows not written at shutdown", self.name, self.stats.pending)
            return ok and self.stats.pending == 0

    # -- worker side ---------------------------------------------------------------------------------
    def _take(self) -> tuple[list[C], int]:
        chunks, rows = [], 0
        for chunk, n in self._queue:
            if chunks and rows + n > self.batch_size * 2:  # keep single inserts reasonably sized
                break
            chunks.append(chunk)
            rows += n
            if rows >= self.batch_size:
                break
        return chunks, rows

    def _run(self) -> None:
        next_due = time.monotonic() + self.interval
        while True:
            with self._cond:
                while True:
                    now = time.monotonic()
                    wants_flush = self._flush_requested > self._flushes_done
                    if not self._queue:
                        if wants_flush:
                            self._flushes_done = self._flush_requested
                            self._cond.notify_all()
                        next_due = now + self.interval
                    elif self._closing and (not self.stats.store_available or self._abandoned):
                        pass  # shutting down during an outage or past the deadline: no further attempt
                    elif now >= self._retry_at and (
                        wants_flush
                        or self._closing
                        or now >= next_due
                        or self.stats.pending >= self.batch_size
                    ):
                        break
                    if self._closing and (
                        not self._queue or not self.stats.store_available or self._abandoned
                    ):
                        self._closed = True
                        self._cond.notify_all()
                        return
                    wake = max(self._retry_at, next_due) if self._queue else next_due
                    self._cond.wait(max(wake - now, 0.001))
                chunks, rows = self._take()
                flush_target = self._flush_requested
            try:
                self._flush(chunks)
            except SinkUnavailableError as exc:
                with self._cond:
                    self.stats.failed_flushes += 1
                    self.stats.store_available = False
                    self._retry_at = time.monotonic() + self._backoff
                    self._backoff = min(self._backoff * 2, self._backoff_max)
                    self._flushes_done = max(
                        self._flushes_done, flush_target
                    )  # an explicit flush gets its answer: it failed
                    self._cond.notify_all()
                self._warn(f"{self.name}: store unavailable, {self.stats.pending} rows kept for retry: {exc}")
                continue
            except Exception as exc:  # noqa: BLE001 - a rejected batch must not stop the worker
                with self._cond:
                    self._remove(len(chunks), rows)
                    self.stats.dropped += rows
                    self.stats.failed_flushes += 1
                self._warn(
                    f"{self.name}: dropped {rows} rows the store rejected: {type(exc).__name__}: {exc}"
                )
            else:
                with self._cond:
                    self._remove(len(chunks), rows)
                    self.stats.written += rows
                    self.stats.store_available = True
                    self._backoff = self._backoff_min
                    self._retry_at = 0.0
            with self._cond:
                if not self._queue:
                    self._flushes_done = max(self._flushes_done, flush_target)
                self._cond.notify_all()
            next_due = time.monotonic() + self.interval

    def _remove(self, count: int, rows: int) -> None:
        for _ in range(count):
            self._queue.popleft()
        self.stats.pending -= rows

    def _warn(self, message: str) -> None:
        now = time.monotonic()
        if now - self._last_log >= _LOG_EVERY:
            self._last_log = now
            log.warning(message)
        else:
            log.debug(message)
