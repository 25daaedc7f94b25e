"""A fake n8n public API on 127.0.0.1 with n8n's real semantics, validated against n8n's published schemas.

Semantics (n8n.md §2.5, §2.6): executions listed ``id DESC`` with the keyset cursor base64
``{"lastId","limit"}`` (the cursor's limit wins), running executions left out of lists, ``limit`` ≤ 250
(from the shared ``limit.yml``), invalid cursor → 400, status filter quirks (``error`` also matches
``crashed``; filters other than error/success/waiting are ignored), ``X-N8N-API-KEY`` → 401,
``GET /executions/{id}`` (running ones too, 404 when absent), workflows with the offset cursor
``{"limit","offset"}``.

Every 200 body is validated against the generated n8n schema of its operation in strict mode before it is
sent; a failure is recorded in ``validation_errors`` (the fixture fails the test) and answered with 500.
Faults (429 + Retry-After, 5xx, dropped connection, malformed JSON, a bad field, slowness) are applied
after validation: they are deliberate.

State is generated from a seed; tests change it through methods (``add``, ``finish``, ``retry``, …).
"""

from __future__ import annotations

import bisect
import json
import random
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from smarter_obs.demo.n8n_api import Execution, decode_cursor, encode_cursor, workflow_item
from tests.collectors.n8n import n8n_spec

BASE_TIME = datetime(2026, 11, 1, tzinfo=UTC)
TERMINAL = ("success", "error", "crashed", "canceled")

# (designed trigger source, [(node type, disabled)]) — the expected classification is written by hand here,
# independent of smarter_obs.collectors.n8n.trigger.
WORKFLOW_KINDS: list[tuple[str, list[tuple[str, bool]]]] = [
    ("kafka", [("n8n-nodes-base.kafkaTrigger", False)]),
    ("webhook", [("n8n-nodes-base.webhook", False)]),
    ("schedule", [("n8n-nodes-base.scheduleTrigger", False)]),
    ("schedule", [("n8n-nodes-base.cron", False)]),
    ("schedule", [("n8n-nodes-base.interval", False)]),
    ("manual", [("n8n-nodes-base.manualTrigger", False)]),
    ("other", [("n8n-nodes-base.githubTrigger", False)]),
    ("webhook", [("n8n-nodes-base.webhook", False), ("n8n-nodes-base.manualTrigger", False)]),
    ("kafka", [("n8n-nodes-base.kafkaTrigger", False), ("n8n-nodes-base.manualTrigger", False)]),
    ("schedule", [("n8n-nodes-base.kafkaTrigger", True), ("n8n-nodes-base.scheduleTrigger", False)]),
    ("other", [("n8n-nodes-base.kafkaTrigger", False), ("n8n-nodes-base.scheduleTrigger", False)]),
]
_MODE_FOR_KIND = {
    "kafka": "trigger",
    "webhook": "webhook",
    "schedule": "trigger",
    "manual": "manual",
    "other": "trigger",
}


@dataclass
class Fault:
    """A deliberate misbehaviour for requests to ``path`` (every path under it when it ends with ``/``).

    kind: ``status`` (answer ``code``, with ``Retry-After`` for 429), ``drop`` (close the connection
    without answering), ``malformed`` (truncated JSON body), ``bad_field`` (set ``data[0].<field>`` to
    ``value``), ``slow`` (wait ``delay`` seconds, then answer normally).
    """

    kind: str
    path: str = "/api/v1/executions"
    after: int = 0
    times: int = 1
    code: int = 500
    retry_after: str | None = None
    field: str = "startedAt"
    value: Any = "yesterday"
    delay: float = 0.0
    seen: int = 0
    applied: int = 0
    query_has: str | None = None

    def matches(self, path: str, query: str) -> bool:
        exact = path == self.path or (self.path.endswith("/") and path.startswith(self.path))
        if not exact or (self.query_has and self.query_has not in query):
            return False
        self.seen += 1
        if self.seen > self.after and self.applied < self.times:
            self.applied += 1
            return True
        return False


@dataclass
class FakeN8n:
    """The fake's state plus its HTTP server (``with FakeN8n.generate(...) as fake: fake.url``)."""

    api_key: str
    workflows: list[dict[str, Any]]
    kinds: dict[str, str]
    executions: dict[int, Execution]
    rng: random.Random
    validate: bool = True
    next_id: int = 1
    faults: list[Fault] = field(default_factory=list)
    validation_errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    lock: threading.RLock = field(default_factory=threading.RLock)
    _server: ThreadingHTTPServer | None = None
    _failed: list[int] = field(default_factory=list)  # error executions not retried yet
    _sorted: list[int] | None = None  # execution ids ascending, rebuilt after a change

    # -- generation -----------------------------------------------------------------------------------------

    @classmethod
    def generate(
        cls,
        seed: int = 1,
        *,
        executions: int = 300,
        api_key: str = "n8n_api_test_key",
        hole_rate: float = 0.03,
        validate: bool = True,
        unfinished: bool = True,
    ) -> FakeN8n:
        """Seeded workflows (every WORKFLOW_KINDS entry) and ``executions`` executions over them."""
        rng = random.Random(seed)
        workflows, kinds = [], {}
        for index, (kind, triggers) in enumerate(WORKFLOW_KINDS):
            wf = _workflow(rng, index, triggers)
            workflows.append(wf)
            kinds[wf["id"]] = kind
        fake = cls(api_key, workflows, kinds, {}, rng, validate=validate)
        fake.add(executions, hole_rate=hole_rate, unfinished=unfinished)
        return fake

    def _time(self, eid: int) -> datetime:
        return BASE_TIME + timedelta(seconds=eid * 17 + self.rng.randint(0, 9))

    def add(self, count: int, *, hole_rate: float = 0.0, unfinished: bool = False) -> list[int]:
        """``count`` new executions (finished, plus some waiting/new/running when ``unfinished``)."""
        added = []
        with self.lock:
            for _ in range(count):
                eid = self.next_id
                self.next_id += 1
                if hole_rate and self.rng.random() < hole_rate:  # an execution n8n did not keep
                    eid = self.next_id
                    self.next_id += 1
                if self._failed and self.rng.random() < 0.04:
                    original = self.executions.get(self._failed.pop(self.rng.randrange(len(self._failed))))
                    if original is not None and original.status == "error":
                        added.append(self._retry(original, eid))
                        continue
                wf = self.rng.choice(self.workflows)
                mode = "manual" if self.rng.random() < 0.05 else _MODE_FOR_KIND[self.kinds[wf["id"]]]
                roll = self.rng.random()
                status = (
                    (
                        "success"
                        if roll < 0.80
                        else "error"
                        if roll < 0.92
                        else "crashed"
                        if roll < 0.93
                        else "canceled"
                        if roll < 0.94
                        else "waiting"
                        if roll < 0.97
                        else "new"
                        if roll < 0.985
                        else "running"
                    )
                    if unfinished
                    else ("success" if roll < 0.85 else "error")
                )
                self.executions[eid] = self._execution(eid, wf["id"], mode, status)
                if status == "error":
                    self._failed.append(eid)
                added.append(eid)
            self._sorted = None
        return added

    def _execution(
        self, eid: int, workflow_id: str, mode: str, status: str, retry_of: int | None = None
    ) -> Execution:
        created = self._time(eid)
        started = None if status == "new" else created + timedelta(milliseconds=self.rng.randint(0, 50))
        stopped = None
        if status not in ("new", "running"):
            stopped = started + timedelta(milliseconds=self.rng.randint(3, 20_000))
        wait_till = stopped + timedelta(hours=1) if status == "waiting" else None
        trace = (
            f"00-{self.rng.getrandbits(128):032x}-{self.rng.getrandbits(64):016x}-01"
            if self.rng.random() < 0.5
            else ""
        )
        return Execution(
            eid, workflow_id, mode, status, created, started, stopped, wait_till, retry_of, trace=trace
        )

    def _retry(self, original: Execution, eid: int, status: str | None = None) -> int:
        status = status or ("success" if self.rng.random() < 0.7 else "error")
        self.executions[eid] = self._execution(
            eid, original.workflow_id, "retry", status, retry_of=original.id
        )
        if status == "success":
            original.retry_success_id = eid
        return eid

    # -- mutations used by tests -----------------------------------------------------------------------------

    def retry(self, original_id: int, status: str = "success") -> int:
        """Retry an execution (as POST /executions/{id}/retry would); a success sets the original's
        retrySuccessId."""
        with self.lock:
            eid = self.next_id
            self.next_id += 1
            self._sorted = None
            return self._retry(self.executions[original_id], eid, status)

    def finish(self, eid: int, status: str = "success") -> None:
        """A new/running/waiting execution ends with ``status``."""
        with self.lock:
            e = self.executions[eid]
            e.status = status
            e.started = e.started or e.created + timedelta(milliseconds=5)
            e.stopped = e.started + timedelta(milliseconds=1234)
            e.wait_till = None

    def start_running(self, workflow_index: int = 0) -> int:
        """A new execution that is running now (invisible to lists)."""
        with self.lock:
            eid = self.next_id
            self.next_id += 1
            wf = self.workflows[workflow_index]
            self.executions[eid] = self._execution(
                eid, wf["id"], _MODE_FOR_KIND[self.kinds[wf["id"]]], "running"
            )
            self._sorted = None
            return eid

    def delete(self, eid: int) -> None:
        with self.lock:
            del self.executions[eid]
            self._sorted = None

    def ids_with_status(self, *statuses: str) -> list[int]:
        with self.lock:
            return sorted(e.id for e in self.executions.values() if e.status in statuses)

    def expected_rows(self, instance: str) -> set[tuple]:
        """What ``n8n_executions`` must hold: (instance, id, workflow_id, status, mode, trigger_source,
        started_at, stopped_at, retry_of, retry_success_id, wait_till) per execution."""
        with self.lock:
            return {
                (
                    instance,
                    str(e.id),
                    e.workflow_id,
                    e.status,
                    e.mode,
                    self.expected_source(e),
                    e.started,
                    e.stopped,
                    None if e.retry_of is None else str(e.retry_of),
                    None if e.retry_success_id is None else str(e.retry_success_id),
                    e.wait_till,
                )
                for e in self.executions.values()
            }

    def expected_source(self, e: Execution) -> str:
        if e.mode in ("webhook", "manual"):
            return e.mode
        kind = self.kinds[e.workflow_id]
        if e.mode == "trigger" and kind in ("webhook", "manual"):
            return kind
        return kind

    # -- HTTP ------------------------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        assert self._server is not None, "start the fake first"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakeN8n:
        if self.validate:  # load the schemas here, so a missing spec fails the test, not a request thread
            for operation in (n8n_spec.EXECUTIONS, n8n_spec.EXECUTION, n8n_spec.WORKFLOWS):
                n8n_spec.response_validator(operation)
        handler = type("Handler", (_Handler,), {"fake": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-n8n", daemon=True
        ).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeN8n:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def respond(
        self, method: str, target: str, headers: dict[str, str]
    ) -> tuple[int, dict[str, str], bytes | None]:
        """(status, headers, body) for a request; body None = drop the connection."""
        parts = urlsplit(target)
        path, query = parts.path, parts.query
        with self.lock:
            self.requests.append(target)
            fault = next((f for f in self.faults if f.matches(path, query)), None)
        if fault and fault.kind == "slow":
            time.sleep(fault.delay)
            fault = None
        refusal = self._refusal(fault, method, headers)
        if refusal is not None:
            return refusal
        params = {k: v[-1] for k, v in parse_qs(query, keep_blank_values=True).items()}
        operation = {"/api/v1/executions": n8n_spec.EXECUTIONS, "/api/v1/workflows": n8n_spec.WORKFLOWS}.get(
            path, n8n_spec.EXECUTION if path.startswith("/api/v1/executions/") else None
        )
        if operation and self.validate:
            problems = n8n_spec.query_errors(operation, params)
            if problems:  # the client sent what n8n does not document: a defect of the client
                self.validation_errors.append(f"request {target}: {problems}")
                return 400, {}, _json({"message": f"request/query: {problems}"})
        with self.lock:
            if path == "/api/v1/executions":
                status, body, operation = *self._list_executions(params), n8n_spec.EXECUTIONS
            elif path.startswith("/api/v1/executions/"):
                status, body, operation = *self._get_execution(path.rsplit("/", 1)[1]), n8n_spec.EXECUTION
            elif path == "/api/v1/workflows":
                status, body, operation = *self._list_workflows(params), n8n_spec.WORKFLOWS
            else:
                return 404, {}, _json({"message": "not found"})
            body = json.loads(json.dumps(body))  # what goes on the wire, detached from the state
        if status == 200 and self.validate:
            problems = n8n_spec.errors(n8n_spec.response_validator(operation), body)
            if problems:
                self.validation_errors.append(f"{target}: {problems}")
                return 500, {}, _json({"message": f"fake n8n response failed schema validation: {problems}"})
        return status, {}, self._wire(body, status, fault)

    def _refusal(
        self, fault: Fault | None, method: str, headers: dict[str, str]
    ) -> tuple[int, dict[str, str], bytes | None] | None:
        """The answer given before routing: an injected drop or status, a bad API key, a method not served."""
        if fault and fault.kind == "drop":
            return 0, {}, None
        if fault and fault.kind == "status":
            extra = {"Retry-After": fault.retry_after} if fault.retry_after else {}
            return fault.code, extra, _json({"message": f"fault {fault.code}"})
        if headers.get("x-n8n-api-key") != self.api_key:
            message = "'X-N8N-API-KEY' header required" if "x-n8n-api-key" not in headers else "Unauthorized"
            return 401, {}, _json({"message": message})
        if method != "GET":
            return 405, {}, _json({"message": "method not allowed"})
        return None

    @staticmethod
    def _wire(body: Any, status: int, fault: Fault | None) -> bytes:
        """The response body as sent, with an injected bad field or truncation applied."""
        if fault and fault.kind == "bad_field" and status == 200:
            body["data"][0][fault.field] = fault.value
        raw = _json(body)
        if fault and fault.kind == "malformed" and status == 200:
            raw = raw[: len(raw) // 2]
        return raw

    def _limit(self, params: dict[str, str], operation: str) -> int | None:
        schema = n8n_spec.parameters(operation)["limit"]["schema"]
        try:
            limit = int(params.get("limit", schema["default"]))
        except ValueError:
            return None
        return limit if 1 <= limit <= schema["maximum"] else None

    def _list_executions(self, params: dict[str, str]) -> tuple[int, dict[str, Any]]:
        limit = self._limit(params, n8n_spec.EXECUTIONS)
        if limit is None:
            return 400, {"message": "request/query/limit must be <= 250"}
        last_id = None
        if params.get("cursor"):
            cursor = decode_cursor(params["cursor"])
            if cursor is None or "lastId" not in cursor:
                return 400, {"message": "An invalid cursor was provided"}
            last_id, limit = int(cursor["lastId"]), int(cursor.get("limit", limit))
        wanted = params.get("status")
        statuses = {"error": {"error", "crashed"}, "success": {"success"}, "waiting": {"waiting"}}.get(
            wanted or ""
        )
        if self._sorted is None:
            self._sorted = sorted(self.executions)
        end = len(self._sorted) if last_id is None else bisect.bisect_left(self._sorted, last_id)
        page: list[Execution] = []
        more = False
        for position in range(end - 1, -1, -1):  # id DESC, below the cursor
            e = self.executions[self._sorted[position]]
            if (
                e.status == "running"
                or (statuses is not None and e.status not in statuses)
                or (params.get("workflowId") and e.workflow_id != params["workflowId"])
            ):
                continue
            if len(page) == limit:
                more = True
                break
            page.append(e)
        next_cursor = encode_cursor({"lastId": str(page[-1].id), "limit": limit}) if page and more else None
        return 200, {"data": [e.list_item() for e in page], "nextCursor": next_cursor}

    def _get_execution(self, raw_id: str) -> tuple[int, dict[str, Any]]:
        e = self.executions.get(int(raw_id)) if raw_id.isdigit() else None
        if e is None:
            return 404, {"message": "Not Found"}
        return 200, e.item()

    def _list_workflows(self, params: dict[str, str]) -> tuple[int, dict[str, Any]]:
        limit = self._limit(params, n8n_spec.WORKFLOWS)
        if limit is None:
            return 400, {"message": "request/query/limit must be <= 250"}
        offset = int(params.get("offset", 0) or 0)
        if params.get("cursor"):
            cursor = decode_cursor(params["cursor"])
            if cursor is None or "offset" not in cursor:
                return 400, {"message": "An invalid cursor was provided"}
            offset, limit = int(cursor["offset"]), int(cursor["limit"])
        items = self.workflows[offset : offset + limit]
        more = offset + limit < len(self.workflows)
        return 200, {
            "data": items,
            "nextCursor": encode_cursor({"limit": limit, "offset": offset + limit}) if more else None,
        }


class _Handler(BaseHTTPRequestHandler):
    fake: FakeN8n
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in separate writes

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def _handle(self, method: str) -> None:
        headers = {k.lower(): v for k, v in self.headers.items()}
        status, extra, body = self.fake.respond(method, self.path, headers)
        if body is None:
            self.close_connection = True
            return
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        for key, value in extra.items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def _json(body: Any) -> bytes:
    return json.dumps(body, separators=(",", ":")).encode()


def _workflow(rng: random.Random, index: int, triggers: list[tuple[str, bool]]) -> dict[str, Any]:
    """A workflow shaped like n8n's GET /workflows items (the package simulator's, same fields)."""
    name = f"Workflow {index + 1}: {triggers[0][0].rsplit('.', 1)[-1]}"
    return workflow_item(
        rng, index, name, triggers, BASE_TIME - timedelta(days=30 - index), active=index % 4 != 3
    )
