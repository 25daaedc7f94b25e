"""``smarter-obs serve``: the spans receiver and the collectors in one long-running process.

chDB admits one process per data directory, so with the embedded ClickHouse one process must own the
store and everything else reaches it through that process: services send OTLP to the receiver, the lag
collector reads Kafka on its interval, the n8n collector (optional) copies executions into PostgreSQL.
The same process is how a small team runs every collector on one machine against real servers.

Each collector runs its own loop in a thread (``smarter_obs.run.run_loop``); ``GET /health`` on the health
address reports every component. SIGTERM/SIGINT stop the loops after their current cycle, then the
receiver writes its queued spans within the shutdown timeout.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from smarter_obs.errors import SmarterObsError
from smarter_obs.run import CycleOutcome, StopFlag, run_loop

__all__ = ["CollectorLoop", "Service"]

log = logging.getLogger(__name__)


@dataclass
class CollectorLoop:
    """A collector's ``cycle`` run every ``interval`` seconds in a thread, with what health reports."""

    name: str
    cycle: Callable[[], CycleOutcome]
    interval: float
    close: Callable[[], None] = lambda: None
    cycles: int = 0
    failures: int = 0
    last_ok: bool | None = None
    last_message: str = ""
    last_cycle_at: float | None = None
    last_success_at: float | None = None
    _thread: threading.Thread | None = field(default=None, repr=False)

    def _run_once(self) -> CycleOutcome:
        try:
            outcome = self.cycle()
        except SmarterObsError as exc:  # source or store down, bad page: one line, the next cycle retries
            log.warning("%s: cycle failed, retrying in %gs: %s", self.name, self.interval, exc)
            outcome = CycleOutcome(ok=False, message=str(exc))
        except Exception as exc:  # run_loop logs the traceback; health must still say it failed
            self._record(CycleOutcome(ok=False, message=f"{type(exc).__name__}: {exc}"))
            raise
        self._record(outcome)
        return outcome

    def _record(self, outcome: CycleOutcome) -> None:
        now = time.time()
        self.cycles += 1
        self.failures += not outcome.ok
        self.last_ok, self.last_message, self.last_cycle_at = outcome.ok, outcome.message, now
        if outcome.ok:
            self.last_success_at = now

    def start(self, stop: StopFlag) -> None:
        def main() -> None:
            try:
                run_loop(self._run_once, interval=self.interval, stop=stop, name=self.name)
            finally:
                self.close()

        self._thread = threading.Thread(target=main, name=f"smarter-obs-{self.name}", daemon=True)
        self._thread.start()

    def join(self, timeout: float) -> bool:
        if self._thread is None:
            return True
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def health(self) -> dict[str, Any]:
        status = "starting" if self.last_ok is None else "ok" if self.last_ok else "failing"
        return {
            "status": status,
            "interval_seconds": self.interval,
            "cycles": self.cycles,
            "failed_cycles": self.failures,
            "last_message": self.last_message,
            "last_cycle_at": _iso(self.last_cycle_at),
            "last_success_at": _iso(self.last_success_at),
        }


def _iso(ts: float | None) -> str | None:
    if ts is None:
        return None
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


class Service:
    """The receiver plus collector loops plus a health endpoint; ``start()``, then ``stop()``."""

    def __init__(
        self,
        receiver: Any,
        loops: list[CollectorLoop],
        *,
        health_address: tuple[str, int],
        stop: StopFlag | None = None,
    ) -> None:
        self.receiver = receiver
        self.loops = loops
        self.stop_flag = stop or StopFlag()
        self.started_at = time.time()
        self._health = ThreadingHTTPServer(health_address, _health_handler(self))
        self._health.daemon_threads = True

    @property
    def health_url(self) -> str:
        host, port = self._health.server_address[:2]
        return f"http://{host}:{port}/health"

    def health(self) -> dict[str, Any]:
        components: dict[str, Any] = {"spans": self.receiver.health()}
        for loop in self.loops:
            components[loop.name] = loop.health()
        degraded = components["spans"]["status"] != "ok" or any(
            c.get("status") == "failing" for c in components.values()
        )
        return {
            "status": "degraded" if degraded else "ok",
            "uptime_seconds": round(time.time() - self.started_at, 1),
            "otlp_url": self.receiver.url,
            "components": components,
        }

    def start(self) -> Service:
        self.receiver.start()
        for loop in self.loops:
            loop.start(self.stop_flag)
        threading.Thread(
            target=self._health.serve_forever,
            kwargs={"poll_interval": 0.2},
            name="smarter-obs-health",
            daemon=True,
        ).start()
        return self

    def stop(self, timeout: float = 10.0) -> bool:
        """Finish the collectors' current cycles, flush queued spans; True when nothing was lost."""
        self.stop_flag.set()
        deadline = time.monotonic() + timeout
        joined = all(loop.join(max(deadline - time.monotonic(), 0.1)) for loop in self.loops)
        if not joined:
            log.warning("a collector was still in its cycle when the shutdown timeout ran out")
        ok = self.receiver.stop(timeout=max(deadline - time.monotonic(), 1.0))
        self._health.shutdown()
        self._health.server_close()
        return ok and joined


def _health_handler(service: Service) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "smarter-obs-serve"

        def log_message(self, format: str, *args: Any) -> None:
            log.debug("%s " + format, self.address_string(), *args)

        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            if path in ("/health", "/healthz", "/"):
                health = service.health()
                self._send(200 if health["status"] == "ok" else 503, health)
            else:
                self._send(404, {"message": "not found; GET /health"})

        def _send(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    return Handler
