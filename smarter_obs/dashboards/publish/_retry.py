"""Retries with exponential backoff for calls to Grafana and Metabase."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")
log = logging.getLogger("smarter_obs.publish")


class Retryable(Exception):
    """Raised by a call that may succeed when repeated (timeout, refused connection, 5xx)."""

    def __init__(self, message: str, status: int = 0, body: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.body = body


def with_retries(call: Callable[[], T], *, what: str, attempts: int, backoff: float) -> T:
    """``call()``; on ``Retryable`` wait ``backoff``·2ⁿ and try again, ``attempts`` times in all."""
    for attempt in range(1, attempts + 1):
        try:
            return call()
        except Retryable as exc:
            if attempt == attempts:
                raise
            delay = backoff * 2 ** (attempt - 1)
            log.warning("%s: %s; retrying in %.1fs (%d/%d)", what, exc, delay, attempt, attempts - 1)
            time.sleep(delay)
    raise AssertionError("unreachable")
