"""The tracing logger and "say it once" helpers.

Messages that would repeat on every ``init_tracing`` call (a bad setting, adoption of a foreign provider,
"exporting nowhere") are logged once per process and message.
"""

from __future__ import annotations

import logging
import threading

from smarter_obs.redact import redact_text

logger = logging.getLogger("smarter_obs.tracing")

_said: set[str] = set()
_said_lock = threading.Lock()


def once(level: int, message: str, *args: object) -> None:
    """Log ``message % args`` at ``level`` unless this exact text was already logged."""
    text = message % args if args else message
    with _said_lock:
        if text in _said:
            return
        _said.add(text)
    logger.log(level, "%s", text)


def forget() -> None:
    """Forget what was said (test isolation)."""
    with _said_lock:
        _said.clear()


def redact(text: str) -> str:
    """``text`` with URL passwords and password-like fields masked (``smarter_obs.redact.redact_text``)."""
    return redact_text(text)
