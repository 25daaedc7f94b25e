"""``ClickHouseSpanExporter``: SDK spans → ``otel_traces`` rows, inserted in columnar batches.

Used by ``init_tracing(exporter="clickhouse", endpoint=URL)`` or ``OTEL_TRACES_EXPORTER=clickhouse`` with
``SMARTER_OBS_CLICKHOUSE_URL``. Sits behind the SDK's ``BatchSpanProcessor``, whose bounded queue (2048 spans
by default) is the only buffer: the exporter holds just the batch it is exporting, so memory stays bounded
while ClickHouse is down. A retryable failure is retried with exponential backoff until ``timeout`` seconds
have passed; then the batch is dropped and ``FAILURE`` returned. ``export`` never raises.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Sequence

from opentelemetry import context as otel_context
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from smarter_obs.errors import SinkError, SinkUnavailableError
from smarter_obs.sinks.clickhouse import ClickHouseSink
from smarter_obs.sinks.otel_traces import TABLE, from_sdk_spans

__all__ = ["ClickHouseSpanExporter"]

log = logging.getLogger(__name__)

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
    """

    def __init__(self, url: str | None = None, *, database: str | None = None, timeout: float = 10.0) -> None:
        self._sink = ClickHouseSink(url, database=database, timeout=timeout)
        self._timeout = timeout
        self._shutdown = threading.Event()
        self._last_warning: dict[str, float] = {}
        self.exported = 0
        self.dropped = 0

    def __repr__(self) -> str:
        return f"ClickHouseSpanExporter({self._sink.url.redacted()!r}, database={self._sink.database!r})"

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        if self._shutdown.is_set():
            return SpanExportResult.FAILURE
        if not spans:
            return SpanExportResult.SUCCESS
        # The insert may go through instrumented HTTP libraries; never trace our own export.
        token = otel_context.attach(otel_context.set_value(otel_context._SUPPRESS_INSTRUMENTATION_KEY, True))
        try:
            return self._export(spans)
        except Exception as exc:  # export must never raise into the span processor
            self.dropped += len(spans)
            self._warn("bug", f"dropped {len(spans)} spans: unexpected {type(exc).__name__}: {exc}")
            return SpanExportResult.FAILURE
        finally:
            otel_context.detach(token)

    def _export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        names, data = from_sdk_spans(spans).insert_columns()
        deadline = time.monotonic() + self._timeout
        backoff = _BACKOFF_START
        while True:
            try:
                self.exported += self._sink.write(TABLE, names, data)
                return SpanExportResult.SUCCESS
            except SinkUnavailableError as exc:
                delay = backoff * random.uniform(0.8, 1.2)
                if time.monotonic() + delay >= deadline or self._shutdown.is_set():
                    self.dropped += len(spans)
                    self._warn("unavailable", f"dropped {len(spans)} spans, ClickHouse unavailable: {exc}")
                    return SpanExportResult.FAILURE
                if self._shutdown.wait(delay):
                    self.dropped += len(spans)
                    return SpanExportResult.FAILURE
                backoff = min(backoff * 2, _BACKOFF_MAX)
            except SinkError as exc:
                self.dropped += len(spans)
                self._warn("rejected", f"dropped {len(spans)} spans, ClickHouse rejected the insert: {exc}")
                return SpanExportResult.FAILURE

    def _warn(self, kind: str, message: str) -> None:
        now = time.monotonic()
        if now - self._last_warning.get(kind, -_LOG_EVERY) >= _LOG_EVERY:
            self._last_warning[kind] = now
            log.warning("ClickHouseSpanExporter: %s", message)
        else:
            log.debug("ClickHouseSpanExporter: %s", message)

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True  # nothing is buffered here; the span processor owns the queue

    def shutdown(self) -> None:
        self._shutdown.set()
        self._sink.close()
