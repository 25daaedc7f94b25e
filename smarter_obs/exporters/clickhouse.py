"""``ClickHouseSpanExporter``: SDK spans → ``otel_traces`` rows, inserted in columnar batches.

Used by ``init_tracing(exporter="clickhouse", endpoint=URL)`` or ``OTEL_TRACES_EXPORTER=clickhouse`` with
``SMARTER_OBS_CLICKHOUSE_URL``. Sits behind the SDK's ``BatchSpanProcessor``.

Every ClickHouse insert has a fixed cost (a new part plus two materialized views), far above the cost of a
512-span batch, so under load the exporter joins consecutive *full* batches (the processor is keeping up
with a backlog) into one insert of up to ``max_batch`` spans, written at the latest ``max_delay`` seconds
later. A partial batch (the processor drained its queue: quiet periods, ``force_flush``, shutdown) writes
everything synchronously, so ``SUCCESS`` for it means "in ClickHouse". ``force_flush()`` and ``shutdown()`` on
the exporter write what it holds.

A full joined block becomes one Arrow table (``collectors/spans/rows.py``) that a background thread
inserts while the next batches are mapped (the insert releases the GIL). Memory is bounded: the processor's
queue plus two blocks of ``max_batch`` spans (the one in flight, ~0.25 KB per span as Arrow plus its IPC
copy, and the next one, joined at ~0.36 KB per span or waiting as Arrow): ~60 MB at the default, reached
only while spans arrive faster than one insert of ``max_batch`` per ``max_delay``.
Retryable failures are retried with exponential backoff until ``timeout`` seconds have passed; then the
spans are dropped (counted in ``dropped``) and ``FAILURE`` returned. ``export`` never raises.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

from opentelemetry import context as otel_context
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from smarter_obs.collectors.spans.rows import TABLE, SpanColumns, from_sdk_spans
from smarter_obs.errors import SinkError, SinkUnavailableError
from smarter_obs.sinks.clickhouse import ClickHouseSink

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["DEFAULT_MAX_BATCH", "DEFAULT_MAX_DELAY", "DEFAULT_MIN_BATCH", "ClickHouseSpanExporter"]

log = logging.getLogger(__name__)

#: Most spans joined into one insert. Each insert costs ClickHouse a fixed amount of CPU (parts of three
#: tables, skip indexes, later merges): on 2 cores 32768-span inserts took ~20 µs of CPU per span including
#: merges against ~31 µs for 8192, and 65536 gave the exporter another ~5-20 % (fewer parts to merge;
#: bench_spans). A joined block holds ~0.36 KB per span (~24 MB).
DEFAULT_MAX_BATCH = 65536
#: Longest time (seconds) joined spans wait before their insert.
DEFAULT_MAX_DELAY = 1.0
#: Smaller batches are never held back (a processor sending so few is not under load).
_MIN_JOINED_CALL = 128
#: Joined spans are inserted before reaching ``max_batch`` when no insert is running and at least this many
#: are waiting (ClickHouse's fixed cost per insert is small against 16384 rows; fewer would mean more
#: parts to merge under moderate load).
DEFAULT_MIN_BATCH = 16384
_BACKOFF_START = 0.1
_BACKOFF_MAX = 5.0
#: Seconds between two warnings about the same problem.
_LOG_EVERY = 20.0


class ClickHouseSpanExporter(SpanExporter):
    """Export finished spans into ``<database>.otel_traces`` (the Collector clickhouseexporter schema).

    ``url``: ``chdb:///path`` or ``http(s)://user:pass@host:8123/db`` (default ``SMARTER_OBS_CLICKHOUSE_URL``,
    else embedded chDB under ``.smarter-obs/``). A bad URL raises ConfigError here; an unreachable server
    does not (the exporter connects on first export and keeps trying on later ones). The schema must exist:
    run ``smarter-obs db migrate`` first.

    Under load, consecutive full batches are joined into inserts of up to ``max_batch`` spans, written at
    the latest ``max_delay`` seconds later, or as soon as ``min_batch`` are waiting and no insert is running.
    """

    def __init__(
        self,
        url: str | None = None,
        *,
        database: str | None = None,
        timeout: float = 10.0,
        max_batch: int = DEFAULT_MAX_BATCH,
        max_delay: float = DEFAULT_MAX_DELAY,
        min_batch: int = DEFAULT_MIN_BATCH,
    ) -> None:
        self._sink = ClickHouseSink(url, database=database, timeout=timeout)
        self._timeout = timeout
        self._max_batch = max_batch
        self._min_batch = min(min_batch, max_batch)
        self._max_delay = max_delay
        self._shutdown = threading.Event()
        self._lock = threading.Lock()
        self._pending: SpanColumns | None = None
        self._previous_call = 0
        self._generation = 0
        # One full block may be inserted by a background thread while the next one is mapped: the chDB
        # engine and the network release the GIL, so the insert overlaps with the Python work.
        self._slot = threading.Condition()
        self._inflight: pa.Table | None = None
        self._inserter: threading.Thread | None = None
        self._last_warning: dict[str, float] = {}
        #: Spans written to ClickHouse / given up on.
        self.exported = 0
        self.dropped = 0

    def __repr__(self) -> str:
        return f"ClickHouseSpanExporter({self._sink.url.redacted()!r}, database={self._sink.database!r})"

    @property
    def pending(self) -> int:
        """Spans joined for the next insert, not yet written."""
        pending = self._pending
        return len(pending) if pending is not None else 0

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        if self._shutdown.is_set():
            return SpanExportResult.FAILURE
        if not spans:
            return SpanExportResult.SUCCESS
        # The insert may go through instrumented HTTP libraries; never trace our own export.
        token = otel_context.attach(otel_context.set_value(otel_context._SUPPRESS_INSTRUMENTATION_KEY, True))
        block = None
        try:
            with self._lock:
                count = len(spans)
                block = from_sdk_spans(spans, into=self._pending)
                # A processor under load sends batches of its maximum size back to back: join a batch when
                # it has the size of the previous one. A single batch is never held back.
                full_call = count >= _MIN_JOINED_CALL and count == self._previous_call
                self._previous_call = count
                if full_call:
                    # Insert when the block is full, or as soon as the inserter is idle and the block is
                    # worth an insert: a burst starts inserting at once instead of after a whole block,
                    # and under sustained load blocks grow to max_batch while the inserter is busy.
                    worth_now = self._inflight is None and len(block) >= self._min_batch
                    if len(block) < self._max_batch and not worth_now:
                        if self._pending is None:
                            self._pending = block
                            self._arm_timer()
                        if self._inflight is not None:
                            # Hand the GIL over between batches: each time the inserter comes back from
                            # ClickHouse it needs the GIL, and would otherwise wait out the whole switch
                            # interval (5 ms) while this thread maps.
                            time.sleep(0)
                        return SpanExportResult.SUCCESS
                    self._pending = None
                    # Built here, not by the inserter: building holds the GIL, the insert does not, so the
                    # inserter thread is left with GIL-free work only.
                    self._submit(block.to_arrow())
                    return SpanExportResult.SUCCESS
                self._pending = None
                self._wait_idle()
                return self._write(block.to_arrow())
        except Exception as exc:  # noqa: BLE001 - export must never raise into the span processor
            self._pending = None
            lost = max(len(block), len(spans)) if block is not None else len(spans)  # joined spans too
            self.dropped += lost
            self._warn("bug", f"dropped {lost} spans: unexpected {type(exc).__name__}: {exc}")
            return SpanExportResult.FAILURE
        finally:
            otel_context.detach(token)

    def _submit(self, table: pa.Table) -> None:
        """Hand ``table`` to the inserter thread (after the previous one is written)."""
        with self._slot:
            self._slot.wait_for(lambda: self._inflight is None)
            self._inflight = table
            if self._inserter is None or not self._inserter.is_alive():
                self._inserter = threading.Thread(
                    target=self._insert_loop, name="smarter-obs-clickhouse-exporter", daemon=True
                )
                self._inserter.start()
            self._slot.notify_all()

    def _wait_idle(self, timeout: float | None = None) -> bool:
        with self._slot:
            return self._slot.wait_for(lambda: self._inflight is None, timeout)

    def _insert_loop(self) -> None:
        token = otel_context.attach(otel_context.set_value(otel_context._SUPPRESS_INSTRUMENTATION_KEY, True))
        try:
            while True:
                with self._slot:
                    self._slot.wait_for(lambda: self._inflight is not None or self._shutdown.is_set())
                    block = self._inflight
                if block is None:
                    return
                try:
                    self._write(block)
                except Exception as exc:  # noqa: BLE001 - the thread must survive anything
                    self.dropped += block.num_rows
                    self._warn("bug", f"dropped {block.num_rows} spans: {type(exc).__name__}: {exc}")
                with self._slot:
                    self._inflight = None
                    self._slot.notify_all()
        finally:
            otel_context.detach(token)

    def _arm_timer(self) -> None:
        self._generation += 1
        timer = threading.Timer(self._max_delay, self._on_timer, args=(self._generation,))
        timer.daemon = True
        timer.start()

    def _on_timer(self, generation: int) -> None:
        token = otel_context.attach(otel_context.set_value(otel_context._SUPPRESS_INSTRUMENTATION_KEY, True))
        try:
            with self._lock:
                if self._generation == generation and self._pending is not None:
                    block, self._pending = self._pending, None
                    self._wait_idle()
                    self._write(block.to_arrow())
        except Exception as exc:  # noqa: BLE001 - a timer thread has nobody to raise to
            self._warn("bug", f"delayed insert failed: {type(exc).__name__}: {exc}")
        finally:
            otel_context.detach(token)

    def _write(self, table: pa.Table) -> SpanExportResult:
        """Insert ``table`` (lock held), retrying retryable failures until the timeout."""
        count = table.num_rows
        deadline = time.monotonic() + self._timeout
        backoff = _BACKOFF_START
        while True:
            try:
                self.exported += self._sink.write_arrow(TABLE, table)
                return SpanExportResult.SUCCESS
            except SinkUnavailableError as exc:
                delay = backoff * random.uniform(0.8, 1.2)
                if time.monotonic() + delay >= deadline or self._shutdown.wait(delay):
                    self.dropped += count
                    self._warn("unavailable", f"dropped {count} spans, ClickHouse unavailable: {exc}")
                    return SpanExportResult.FAILURE
                backoff = min(backoff * 2, _BACKOFF_MAX)
            except SinkError as exc:
                self.dropped += count
                self._warn("rejected", f"dropped {count} spans, ClickHouse rejected the insert: {exc}")
                return SpanExportResult.FAILURE

    def _warn(self, kind: str, message: str) -> None:
        now = time.monotonic()
        if now - self._last_warning.get(kind, -_LOG_EVERY) >= _LOG_EVERY:
            self._last_warning[kind] = now
            log.warning("ClickHouseSpanExporter: %s", message)
        else:
            log.debug("ClickHouseSpanExporter: %s", message)

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        """Write the joined spans now; True when nothing is left unwritten."""
        deadline = time.monotonic() + max(timeout_millis, 0) / 1000
        if not self._lock.acquire(timeout=max(timeout_millis, 0) / 1000):
            return False
        try:
            if not self._wait_idle(max(deadline - time.monotonic(), 0.0)):
                return False
            if self._pending is None:
                return True
            block, self._pending = self._pending, None
            return self._write(block.to_arrow()) is SpanExportResult.SUCCESS
        finally:
            self._lock.release()

    def shutdown(self, timeout_millis: float = 30000) -> None:
        if self._shutdown.is_set():
            return
        self.force_flush(int(timeout_millis))
        self._shutdown.set()
        with self._slot:
            self._slot.notify_all()
        if self._inserter is not None:
            self._inserter.join(timeout=1.0)
        self._sink.close()
