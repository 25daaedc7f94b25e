"""The shared collection loop: one cycle per interval, SIGTERM finishes the cycle and exits."""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from smarter_obs.errors import ConfigError

log = logging.getLogger(__name__)


@dataclass
class CycleOutcome:
    """What one collection cycle did. ``ok`` False means the source could not be read at all."""

    ok: bool
    rows: int = 0
    message: str = ""


class StopFlag:
    """Set by SIGTERM/SIGINT (or by tests); cycles check it between units of work."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def set(self) -> None:
        self._event.set()

    def is_set(self) -> bool:
        return self._event.is_set()

    def wait(self, seconds: float) -> bool:
        return self._event.wait(seconds)


def install_signal_handlers(stop: StopFlag) -> None:
    """SIGTERM and SIGINT ask the loop to stop after the current cycle (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        return

    def _handler(signum: int, _frame: object) -> None:
        log.info("received %s: finishing the current cycle", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, _handler)
    signal.signal(signal.SIGINT, _handler)


def run_loop(
    cycle: Callable[[], CycleOutcome],
    *,
    interval: float,
    once: bool = False,
    stop: StopFlag | None = None,
    name: str = "collector",
) -> int:
    """Run ``cycle`` every ``interval`` seconds until stopped; return the process exit code.

    With ``once`` the single cycle's outcome decides the exit code (0 ok, 1 failed). In a long-running loop
    an exception from a cycle is logged with its traceback and the next cycle tries again, except a
    ConfigError, which no retry can fix: it ends the loop (raised). A cycle returning ``ok=False`` has
    already reported why (the loop does not log it again).
    """
    stop = stop or StopFlag()
    while True:
        started = time.monotonic()
        try:
            outcome = cycle()
        except ConfigError:  # a bad setting stays bad: retrying would repeat the error every interval
            raise
        except Exception as exc:  # a bug or an unexpected driver error must not end a long-running collector
            if once:
                raise
            log.exception("%s cycle failed", name)
            outcome = CycleOutcome(ok=False, message=str(exc))
        if once:
            return 0 if outcome.ok else 1
        if stop.is_set():
            return 0
        remaining = interval - (time.monotonic() - started)
        if stop.wait(max(remaining, 0.0)):
            return 0
