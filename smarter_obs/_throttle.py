"""Rate-limited warnings: the one "say it at most once per N seconds" helper of the package.

An outage must not flood a service's log: exporters, sinks and the tracing pipeline report a repeating
problem with ``ThrottledLog(logger, interval).warning(...)`` (WARNING at most once per interval and key,
DEBUG otherwise) or, when the report carries a count of what happened since the previous one, with a
``Throttle`` directly. No dependencies: sinks and collectors import it without loading OpenTelemetry.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Hashable

__all__ = ["Throttle", "ThrottledLog"]


class Throttle:
    """``ready(key)`` is True at most once per ``interval`` seconds per key (thread-safe, monotonic clock).

    The first call for a key is always ready.
    """

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self._last: dict[Hashable, float] = {}
        self._lock = threading.Lock()

    def ready(self, key: Hashable = None) -> bool:
        now = time.monotonic()
        with self._lock:
            last = self._last.get(key)
            if last is not None and now - last < self.interval:
                return False
            self._last[key] = now
            return True


class ThrottledLog:
    """Log a repeating warning at WARNING at most once per ``interval`` seconds per key, else at DEBUG."""

    def __init__(self, logger: logging.Logger, interval: float) -> None:
        self.logger = logger
        self.throttle = Throttle(interval)

    def warning(self, message: str, *args: object, key: Hashable = None) -> bool:
        """Log ``message % args``; True when it went out at WARNING."""
        loud = self.throttle.ready(key)
        self.logger.log(logging.WARNING if loud else logging.DEBUG, message, *args)
        return loud
