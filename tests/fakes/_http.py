"""What both test servers share: a threaded HTTP server on 127.0.0.1:0, request recording, faults.

A subclass implements ``handle(request) -> (status, body)``; the base records every request (method,
path, query, JSON body, the auth headers' presence) in ``requests``, applies deliberate faults before the
handler runs, and answers JSON. Schema problems found by a subclass go to ``validation_errors``; the
fixtures fail the test when that list is not empty.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlsplit


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    body: Any
    headers: dict[str, str]
    status: int = 0

    @property
    def line(self) -> str:
        return f"{self.method} {self.path}"


@dataclass
class Fault:
    """A deliberate misbehaviour for requests matching ``method`` (None: any) and ``path`` (a prefix when
    it ends with ``*``).

    kind: ``status`` (answer ``code`` with a body like the server's), ``timeout`` (wait ``delay`` seconds,
    longer than the client's timeout, then answer normally), ``drop`` (close the connection unanswered).
    The first ``after`` matching requests pass; the next ``times`` are faulted.
    """

    kind: str
    path: str
    method: str | None = None
    code: int = 500
    times: int = 1
    after: int = 0
    delay: float = 1.0
    seen: int = 0
    applied: int = 0

    def matches(self, method: str, path: str) -> bool:
        if self.method and self.method != method:
            return False
        if not (path == self.path or (self.path.endswith("*") and path.startswith(self.path[:-1]))):
            return False
        self.seen += 1
        if self.seen > self.after and self.applied < self.times:
            self.applied += 1
            return True
        return False


@dataclass
class FakeServer:
    """Base of the fakes: state lives in subclasses; ``with Fake() as fake: fake.url``."""

    validation_errors: list[str] = field(default_factory=list)
    requests: list[Request] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    lock: threading.RLock = field(default_factory=threading.RLock)
    _server: ThreadingHTTPServer | None = None
    name = "fake"
    auth_headers: ClassVar[tuple[str, ...]] = ("authorization",)

    # -- what tests look at --------------------------------------------------------------------------------

    def writes(self) -> list[Request]:
        """Requests that change state (anything but GET/HEAD; logging in is not a write)."""
        return [r for r in self.requests if r.method not in ("GET", "HEAD") and not self.is_login(r)]

    def is_login(self, request: Request) -> bool:
        return False

    def clear(self) -> None:
        with self.lock:
            self.requests.clear()

    def fault(self, kind: str, path: str, **kwargs: Any) -> Fault:
        f = Fault(kind, path, **kwargs)
        self.faults.append(f)
        return f

    def invalid(self, what: str, problems: list[str]) -> None:
        self.validation_errors.append(f"{what}: {problems}")

    # -- subclass interface --------------------------------------------------------------------------------

    def handle(self, request: Request) -> tuple[int, Any]:  # pragma: no cover - abstract
        raise NotImplementedError

    def fault_body(self, code: int) -> Any:
        return {"message": f"fault injected by the test: {code}"}

    # -- HTTP ------------------------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        assert self._server is not None, "start the fake first"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self):
        handler = type("Handler", (_Handler,), {"fake": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name=self.name, daemon=True
        ).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def respond(
        self, method: str, target: str, headers: dict[str, str], raw: bytes
    ) -> tuple[int, bytes | None]:
        parts = urlsplit(target)
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            return 400, _json({"message": "invalid JSON body"})
        request = Request(
            method,
            parts.path,
            parse_qs(parts.query, keep_blank_values=True),
            body,
            {k: v for k, v in headers.items() if k in self.auth_headers},
        )
        with self.lock:
            self.requests.append(request)
            fault = next((f for f in self.faults if f.matches(method, parts.path)), None)
        if fault and fault.kind == "timeout":
            time.sleep(fault.delay)
        elif fault and fault.kind == "drop":
            request.status = -1
            return 0, None
        elif fault and fault.kind == "status":
            request.status = fault.code
            return fault.code, _json(self.fault_body(fault.code))
        with self.lock:
            status, payload = self.handle(request)
        request.status = status
        return status, _json(payload)


def _json(body: Any) -> bytes:
    """JSON, except a ``str`` body, which goes out as plain text (Metabase answers "Unauthenticated" so)."""
    return body.encode() if isinstance(body, str) else json.dumps(body).encode()


class _Handler(BaseHTTPRequestHandler):
    fake: FakeServer
    protocol_version = "HTTP/1.1"

    def _handle(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        try:
            status, body = self.fake.respond(method, self.path, headers, raw)
        except Exception as exc:  # noqa: BLE001 - a bug in the fake must reach the test, not hang the client
            self.fake.validation_errors.append(f"fake crashed on {method} {self.path}: {exc!r}")
            status, body = 500, _json({"message": f"fake crashed: {exc!r}"})
        if body is None:
            self.close_connection = True
            return
        try:
            self.send_response(status)
            text = not body.startswith((b"{", b"[", b'"')) and body not in (b"null", b"true", b"false")
            self.send_header("Content-Type", "text/plain" if text else "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (its timeout)
            self.close_connection = True

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_PUT(self) -> None:
        self._handle("PUT")

    def do_DELETE(self) -> None:
        self._handle("DELETE")

    def log_message(self, format: str, *args: object) -> None:  # quiet
        pass
