"""An n8n public-API simulator: SmarterOS's workflows and their executions, served over HTTP like n8n 1.x.

It answers what the n8n collector reads, with n8n's semantics (docs/n8n.md): ``GET /api/v1/workflows``
(offset cursor), ``GET /api/v1/executions`` (``id DESC``, keyset cursor base64 ``{"lastId","limit"}``, the
cursor's limit wins, running executions left out of lists, ``limit`` ≤ 250, ``status`` filter with
``error`` also matching ``crashed``), ``GET /api/v1/executions/{id}`` (404 when absent), the
``X-N8N-API-KEY`` header (401 otherwise). Bodies have exactly the fields of n8n's generated OpenAPI
schemas; the test suite validates the simulator's answers against those schemas (tests/specs/n8n).

The workflows are SmarterOS's automations, triggered by Kafka (the event bus), webhooks (Shopify,
WhatsApp) and schedules; executions are generated over a time range, following the business day.
"""

from __future__ import annotations

import base64
import binascii
import bisect
import json
import random
import string
import threading
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qs, urlsplit

from smarter_obs.demo import timeline

__all__ = ["API_KEY", "WORKFLOWS", "Execution", "N8nSimulator", "iso", "workflow_item"]

API_KEY = "n8n_api_smarteros_demo"
MAX_LIMIT = 250
DEFAULT_LIMIT = 100

# (name, trigger node types, runs per busy hour, median seconds, error rate)
WORKFLOWS: tuple[tuple[str, tuple[str, ...], float, float, float], ...] = (
    ("Shopify order → WhatsApp confirmation", ("n8n-nodes-base.kafkaTrigger",), 6.0, 2.5, 0.03),
    ("WhatsApp inbound → AI triage", ("n8n-nodes-base.kafkaTrigger",), 14.0, 4.0, 0.05),
    ("Abandoned checkout reminder", ("n8n-nodes-base.kafkaTrigger",), 3.0, 1.8, 0.04),
    ("Shopify webhook: inventory sync", ("n8n-nodes-base.webhook",), 5.0, 3.2, 0.06),
    ("Chatwoot webhook: CSAT survey", ("n8n-nodes-base.webhook", "n8n-nodes-base.manualTrigger"), 2.0, 1.2,
     0.02),
    ("Calendar booking webhook", ("n8n-nodes-base.webhook",), 1.5, 2.0, 0.03),
    ("Daily sales report (08:00)", ("n8n-nodes-base.scheduleTrigger",), 0.0, 22.0, 0.08),
    ("Hourly Supabase → Drive backup", ("n8n-nodes-base.scheduleTrigger",), 1.0, 35.0, 0.1),
    ("Nightly Clerk user sync", ("n8n-nodes-base.cron",), 0.0, 48.0, 0.05),
    ("Manual: bulk price update", ("n8n-nodes-base.manualTrigger",), 0.05, 60.0, 0.15),
)  # fmt: skip


def iso(dt: datetime | None) -> str | None:
    """n8n's JSON date format: ``2026-11-27T10:16:10.011Z``."""
    if dt is None:
        return None
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def encode_cursor(cursor: dict[str, Any]) -> str:
    return base64.b64encode(json.dumps(cursor, separators=(",", ":")).encode()).decode()


def decode_cursor(raw: str) -> dict[str, Any] | None:
    try:
        value = json.loads(base64.b64decode(raw, validate=True))
    except (binascii.Error, ValueError):
        return None
    return value if isinstance(value, dict) else None


def _random_id(rng: random.Random, length: int = 16) -> str:
    return "".join(rng.choice(string.ascii_letters + string.digits) for _ in range(length))


@dataclass
class Execution:
    """One execution as n8n stores it; :meth:`list_item` / :meth:`item` are its API shapes."""

    id: int
    workflow_id: str
    mode: str
    status: str
    created: datetime
    started: datetime | None
    stopped: datetime | None
    wait_till: datetime | None = None
    retry_of: int | None = None
    retry_success_id: int | None = None
    trace: str = ""

    def list_item(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "finished": self.status == "success",
            "mode": self.mode,
            "retryOf": None if self.retry_of is None else str(self.retry_of),
            "retrySuccessId": None if self.retry_success_id is None else str(self.retry_success_id),
            "status": self.status,
            "startedAt": iso(self.started),
            "stoppedAt": iso(self.stopped),
            "workflowId": self.workflow_id,
            "waitTill": iso(self.wait_till),
            "storedAt": "db",
            "jsonSizeBytes": 1024 + self.id % 977,
            "workflowVersionId": None,
        }

    def item(self) -> dict[str, Any]:
        return {
            **self.list_item(),
            "createdAt": iso(self.created),
            "deletedAt": None,
            "tracingContext": {"traceparent": self.trace} if self.trace else None,
            "deduplicationKey": None,
            "binaryDataSizeBytes": 0,
            "usedPrivateCredentials": False,
        }


def workflow_item(
    rng: random.Random,
    index: int,
    name: str,
    triggers: list[tuple[str, bool]],
    created: datetime,
    *,
    active: bool = True,
) -> dict[str, Any]:
    """A workflow shaped like n8n's ``GET /workflows`` items (every required field of the generated schema).

    ``triggers`` are ``(node type, disabled)``; a Set and an HTTP Request node follow them.
    """
    wid = _random_id(rng)
    nodes = []
    for n, (node_type, disabled) in enumerate(triggers):
        node: dict[str, Any] = {
            "id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            "name": f"Trigger {n + 1}",
            "type": node_type,
            "typeVersion": 1,
            "position": [0, 200 * n],
            "parameters": {},
        }
        if disabled:
            node["disabled"] = True
        if node_type == "n8n-nodes-base.webhook":
            node["webhookId"] = str(uuid.UUID(int=rng.getrandbits(128), version=4))
            node["parameters"] = {"path": f"hook-{index}", "httpMethod": "POST"}
        nodes.append(node)
    for n, node_type in enumerate(("n8n-nodes-base.set", "n8n-nodes-base.httpRequest")):
        nodes.append(
            {
                "id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                "name": f"Step {n + 1}",
                "type": node_type,
                "typeVersion": 3,
                "position": [300 * (n + 1), 0],
                "parameters": {},
            }
        )
    connections = {
        nodes[i]["name"]: {"main": [[{"node": nodes[-2]["name"], "type": "main", "index": 0}]]}
        for i in range(len(triggers))
    }
    connections[nodes[-2]["name"]] = {"main": [[{"node": nodes[-1]["name"], "type": "main", "index": 0}]]}
    version = str(uuid.UUID(int=rng.getrandbits(128), version=4))
    stamp = iso(created)
    return {
        "id": wid,
        "name": name,
        "active": active,
        "activeVersionId": version if active else None,
        "createdAt": stamp,
        "updatedAt": stamp,
        "isArchived": False,
        "versionId": version,
        "triggerCount": sum(not d for _, d in triggers) if active else 0,
        "nodes": nodes,
        "connections": connections,
        "nodeGroups": [],
        "settings": {
            "executionOrder": "v1",
            "saveManualExecutions": True,
            "callerPolicy": "workflowsFromSameOwner",
        },
        "staticData": None,
        "meta": None,
        "pinData": None,
        "tags": [{"id": _random_id(rng), "name": "smarteros", "createdAt": stamp, "updatedAt": stamp}],
        "shared": [
            {
                "role": "workflow:owner",
                "workflowId": wid,
                "projectId": _random_id(rng),
                "createdAt": stamp,
                "updatedAt": stamp,
            }
        ],
        "activeVersion": {
            "versionId": version,
            "workflowId": wid,
            "nodes": nodes,
            "connections": connections,
            "nodeGroups": [],
            "authors": "1",
            "name": None,
            "description": None,
            "autosaved": False,
            "createdAt": stamp,
            "updatedAt": stamp,
        }
        if active
        else None,
    }


def _mode(triggers: tuple[str, ...], rng: random.Random) -> str:
    if "n8n-nodes-base.webhook" in triggers:
        return "webhook"
    if triggers == ("n8n-nodes-base.manualTrigger",) or rng.random() < 0.01:
        return "manual"
    return "trigger"


@dataclass
class N8nSimulator:
    """SmarterOS's n8n instance: state generated from a seed, served by :meth:`start` on 127.0.0.1."""

    api_key: str
    workflows: list[dict[str, Any]]
    executions: dict[int, Execution]
    lock: threading.RLock = field(default_factory=threading.RLock)
    _server: ThreadingHTTPServer | None = None
    _sorted: list[int] | None = None

    @classmethod
    def generate(
        cls, *, executions: int, start: float, end: float, seed: int = 7, api_key: str = API_KEY
    ) -> N8nSimulator:
        """About ``executions`` executions of :data:`WORKFLOWS` between ``start`` and ``end`` (epoch s)."""
        rng = random.Random(seed)
        created = datetime.fromtimestamp(start, UTC) - timedelta(days=30)
        items, profiles = [], []
        for index, (name, triggers, per_hour, median, error_rate) in enumerate(WORKFLOWS):
            items.append(workflow_item(rng, index, name, [(t, False) for t in triggers], created))
            profiles.append((items[-1]["id"], triggers, per_hour, median, error_rate))
        events: list[tuple[float, int]] = []  # (time, workflow index)
        schedules = _scheduled(profiles, start, end)
        demand = max(executions - len(schedules), 0)
        busy_total = sum(p[2] for p in profiles if not _is_schedule(p[1])) or 1.0
        for index, (_wid, triggers, per_hour, _m, _e) in enumerate(profiles):
            if _is_schedule(triggers):
                continue
            share = round(demand * per_hour / busy_total)
            events += [(ts, index) for ts in timeline.sample_times(rng, share, start, end)]
        events += schedules
        events.sort()
        state: dict[int, Execution] = {}
        failed: list[int] = []
        next_id = 1
        for ts, index in events:
            wid, triggers, _per_hour, median, error_rate = profiles[index]
            if failed and rng.random() < 0.03:  # someone retries a failed run from the editor
                original = state[failed.pop(rng.randrange(len(failed)))]
                state[next_id] = _run(
                    rng, next_id, original.workflow_id, "retry", ts, median, 0.3, original.id
                )
                if state[next_id].status == "success":
                    original.retry_success_id = next_id
                next_id += 1
                continue
            if rng.random() < 0.02:
                next_id += 1  # an execution n8n did not keep (pruned, or saving disabled): a hole in the ids
            execution = _run(rng, next_id, wid, _mode(triggers, rng), ts, median, error_rate)
            state[next_id] = execution
            if execution.status == "error":
                failed.append(next_id)
            next_id += 1
        return cls(api_key, items, state)

    # -- HTTP ------------------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        assert self._server is not None, "start the simulator first"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self, port: int = 0) -> Self:
        handler = type("Handler", (_Handler,), {"simulator": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", port), handler)
        self._server.daemon_threads = True
        threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.1},
            name="n8n-simulator",
            daemon=True,
        ).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def respond(self, target: str, headers: dict[str, str]) -> tuple[int, dict[str, Any]]:
        """``(status, JSON body)`` of a GET request."""
        parts = urlsplit(target)
        path = parts.path
        if headers.get("x-n8n-api-key") != self.api_key:
            missing = "x-n8n-api-key" not in headers
            return 401, {"message": "'X-N8N-API-KEY' header required" if missing else "Unauthorized"}
        params = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        with self.lock:
            if path == "/api/v1/executions":
                return self._list_executions(params)
            if path.startswith("/api/v1/executions/"):
                return self._get_execution(path.rsplit("/", 1)[1])
            if path == "/api/v1/workflows":
                return self._list_workflows(params)
        return 404, {"message": "not found"}

    @staticmethod
    def _limit(params: dict[str, str]) -> int | None:
        try:
            limit = int(params.get("limit", DEFAULT_LIMIT))
        except ValueError:
            return None
        return limit if 1 <= limit <= MAX_LIMIT else None

    def _list_executions(self, params: dict[str, str]) -> tuple[int, dict[str, Any]]:
        limit = self._limit(params)
        if limit is None:
            return 400, {"message": f"request/query/limit must be <= {MAX_LIMIT}"}
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
        limit = self._limit(params)
        if limit is None:
            return 400, {"message": f"request/query/limit must be <= {MAX_LIMIT}"}
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


def _is_schedule(triggers: tuple[str, ...]) -> bool:
    return any(t in triggers for t in ("n8n-nodes-base.scheduleTrigger", "n8n-nodes-base.cron"))


def _scheduled(profiles, start: float, end: float) -> list[tuple[float, int]]:
    """Schedule-triggered runs, on the clock: ``per_hour`` ≥ 1 runs that often; otherwise once a day, the
    report (scheduleTrigger) at 08:00 and the sync (cron) at 03:00 Santiago time."""
    out = []
    offset = -timeline.UTC_OFFSET_HOURS * 3600
    first_day = start - start % 86400
    for index, (_wid, triggers, per_hour, _m, _e) in enumerate(profiles):
        if not _is_schedule(triggers):
            continue
        if per_hour >= 1:
            times = [
                first_day + k * 3600 / per_hour for k in range(int((end - first_day) * per_hour / 3600) + 1)
            ]
        else:
            hour = 8 if "n8n-nodes-base.scheduleTrigger" in triggers else 3
            times = [
                first_day + d * 86400 + hour * 3600 + offset
                for d in range(int((end - first_day) // 86400) + 2)
            ]
        out += [(ts, index) for ts in times if start <= ts < end]
    return out


def _run(
    rng: random.Random,
    eid: int,
    workflow_id: str,
    mode: str,
    ts: float,
    median: float,
    error_rate: float,
    retry_of: int | None = None,
) -> Execution:
    created = datetime.fromtimestamp(ts, UTC)
    started = created + timedelta(milliseconds=rng.randint(2, 80))
    roll = rng.random()
    status = "success" if roll >= error_rate else "error" if roll >= error_rate * 0.1 else "crashed"
    if roll > 0.998:
        status = "canceled"
    seconds = rng.lognormvariate(0, 0.6) * median * (2.5 if status != "success" else 1.0)
    stopped = started + timedelta(seconds=min(seconds, 600))
    trace = f"00-{rng.getrandbits(128):032x}-{rng.getrandbits(64):016x}-01" if rng.random() < 0.6 else ""
    return Execution(
        eid, workflow_id, mode, status, created, started, stopped, retry_of=retry_of, trace=trace
    )


class _Handler(BaseHTTPRequestHandler):
    simulator: N8nSimulator
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def do_GET(self) -> None:
        headers = {k.lower(): v for k, v in self.headers.items()}
        status, body = self.simulator.respond(self.path, headers)
        raw = json.dumps(body, separators=(",", ":")).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def log_message(self, *args: object) -> None:
        pass
