"""Quiet export paths: a thread that is exporting telemetry keeps its libraries' warnings back.

An exporter talking to a dead backend makes its libraries log on every retry (the SDK's OTLP exporter,
urllib3, clickhouse-connect). A ``QuietLogs`` group names such loggers; inside ``group.quiet()`` their
WARNING and ERROR records *on this thread only* are kept (``messages``, the first few) instead of emitted,
and the exporter's own throttled report says what happened. Other threads of the service (its own HTTP
calls) log as usual. Nested ``quiet()`` blocks of one group share the outer block's messages.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable

__all__ = ["QuietLogs"]

#: Messages kept per quiet block (the first is usually the cause, the last the outcome).
_KEEP = 20


class QuietLogs(logging.Filter):
    """A group of logger names, quieted together on the threads inside ``quiet()``."""

    def __init__(self, names: Iterable[str]) -> None:
        super().__init__()
        self.names = tuple(names)
        self._local = threading.local()
        self._installed = False
        self._lock = threading.Lock()

    def install(self) -> None:
        """Attach the filter to each named logger (idempotent; loggers not created yet are created now)."""
        with self._lock:
            if not self._installed:
                for name in self.names:
                    logging.getLogger(name).addFilter(self)
                self._installed = True

    def filter(self, record: logging.LogRecord) -> bool:
        messages = getattr(self._local, "messages", None)
        if messages is None or record.levelno < logging.WARNING:
            return True
        if len(messages) < _KEEP:
            try:
                messages.append(record.getMessage())
            except Exception:  # a broken record must not break the export  # noqa: BLE001
                messages.append(str(record.msg))
        return False

    def quiet(self) -> _Quiet:
        """Context manager: this thread's WARNING+ records of the group are kept in ``.messages``."""
        if not self._installed:
            self.install()
        return _Quiet(self._local)


class _Quiet:
    __slots__ = ("_local", "_previous", "messages")

    def __init__(self, local: threading.local) -> None:
        self._local = local

    def __enter__(self) -> _Quiet:
        self._previous = getattr(self._local, "messages", None)
        self.messages: list[str] = [] if self._previous is None else self._previous
        self._local.messages = self.messages
        return self

    def __exit__(self, *exc: object) -> None:
        self._local.messages = self._previous

    @property
    def reason(self) -> str | None:
        """The first kept message (usually the cause) and the last one (the outcome), or None."""
        if not self.messages:
            return None
        first, last = self.messages[0][:300], self.messages[-1][:300]
        return first if first == last else f"{first} … {last}"
