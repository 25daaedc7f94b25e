"""Per-exporter delivery counters and the throttled failure report.

An exporter failing (backend down, 5xx, timeout) or a full queue must never be noisy: the first problem is
logged at once, then at most one WARNING per ``REPORT_INTERVAL_S`` carrying the number of spans dropped
since the previous report. A recovery is logged once at INFO.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from smarter_obs._throttle import Throttle
from smarter_obs.tracing._log import logger, redact

#: Minimum seconds between two failure reports of one exporter.
REPORT_INTERVAL_S = 60.0


@dataclass(frozen=True)
class ExporterStats:
    """Counters of one exporter in this process (reset in a forked child)."""

    exporter: str
    exported: int
    dropped: int
    dropped_queue_full: int
    failed_exports: int
    queued: int
    last_error: str | None


@dataclass(frozen=True)
class TelemetryStats:
    """Totals over all exporters; a span sent to two exporters counts twice."""

    spans_exported: int
    spans_dropped: int
    spans_queued: int
    exporters: tuple[ExporterStats, ...]


class DeliveryStats:
    """Thread-safe counters for one exporter pipeline plus its log throttle."""

    def __init__(self, label: str) -> None:
        self.label = label
        self._interval = REPORT_INTERVAL_S
        self.reset()

    def reset(self) -> None:
        """Zero everything (a forked child starts its own accounting, with a lock no thread holds)."""
        self._lock = threading.Lock()
        self.exported = 0
        self.dropped = 0
        self.dropped_queue_full = 0
        self.failed_exports = 0
        self.last_error: str | None = None
        self._unreported = 0
        self._throttle = Throttle(self._interval)
        self._failing = False

    def exported_ok(self, count: int) -> None:
        with self._lock:
            self.exported += count
            recovered, lost = self._failing, self.dropped
            self._failing = False
        if recovered:
            logger.info("span export to %s recovered (%d spans dropped in total so far)", self.label, lost)

    def export_failed(self, count: int, reason: str) -> None:
        with self._lock:
            self.dropped += count
            self.failed_exports += 1
            self.last_error = redact(reason)[:500]
            self._failing = True
        self._note_drop(count)

    def queue_full(self, count: int = 1) -> None:
        with self._lock:
            self.dropped += count
            self.dropped_queue_full += count
            if self.last_error is None:
                self.last_error = "queue full"
        self._note_drop(count)

    def dropped_at_shutdown(self, count: int) -> None:
        with self._lock:
            self.dropped += count
        self._note_drop(count, "not exported before shutdown")

    def _note_drop(self, count: int, reason: str | None = None) -> None:
        with self._lock:
            self._unreported += count
            if not self._throttle.ready():
                return
            unreported, self._unreported = self._unreported, 0
            total, reason = self.dropped, reason or self.last_error
        logger.warning(
            "span export to %s: %s; %d spans dropped since the last report, %d in total; "
            "next report in %.0fs at the earliest",
            self.label,
            reason,
            unreported,
            total,
            self._interval,
        )

    def snapshot(self, queued: int) -> ExporterStats:
        with self._lock:
            return ExporterStats(
                exporter=self.label,
                exported=self.exported,
                dropped=self.dropped,
                dropped_queue_full=self.dropped_queue_full,
                failed_exports=self.failed_exports,
                queued=queued,
                last_error=self.last_error,
            )


def combine(snapshots: list[ExporterStats]) -> TelemetryStats:
    return TelemetryStats(
        spans_exported=sum(s.exported for s in snapshots),
        spans_dropped=sum(s.dropped for s in snapshots),
        spans_queued=sum(s.queued for s in snapshots),
        exporters=tuple(snapshots),
    )
