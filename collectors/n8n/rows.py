"""n8n API items → table rows for ``n8n_executions`` and ``n8n_workflows``, validating every field used.

A field that is missing or of the wrong type raises :class:`SourceDataError` naming the page, the item
index and the field, before anything from that page is written.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, NamedTuple

from smarter_obs.collectors.n8n import trigger
from smarter_obs.errors import SourceDataError

EXECUTION_TABLE = "n8n_executions"
WORKFLOW_TABLE = "n8n_workflows"


class ExecutionRow(NamedTuple):
    """One ``n8n_executions`` row, fields in the table's column order."""

    instance: str
    id: str
    workflow_id: str
    status: str
    finished: bool
    mode: str
    trigger_source: str
    started_at: datetime | None
    stopped_at: datetime | None
    duration_ms: int | None
    retry_of: str | None
    retry_success_id: str | None
    wait_till: datetime | None


class WorkflowRow(NamedTuple):
    """One ``n8n_workflows`` row, fields in the table's column order."""

    instance: str
    id: str
    name: str
    active: bool
    is_archived: bool | None
    trigger_source: str
    trigger_types: list[str]
    created_at: datetime | None
    updated_at: datetime | None


EXECUTION_COLUMNS: tuple[str, ...] = ExecutionRow._fields
WORKFLOW_COLUMNS: tuple[str, ...] = WorkflowRow._fields
KEY = ("instance", "id")

#: Statuses n8n may still change (re-read until they become canceled/crashed/error/success).
UNFINISHED_STATUSES = ("new", "running", "waiting", "unknown")


def _fail(where: str, field: str, expected: str, value: Any) -> SourceDataError:
    shown = repr(value)
    if len(shown) > 80:
        shown = shown[:77] + "..."
    return SourceDataError(f"{where}: field {field}: expected {expected}, got {shown}", source="n8n")


def parse_id(value: Any, where: str, field: str = "id") -> int:
    """An execution id (a numeric string in n8n 1.x; older versions sent numbers) as an int."""
    if isinstance(value, str) and value.isdigit():
        return int(value)
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    raise _fail(where, field, "a numeric id string", value)


def _str(item: Mapping[str, Any], field: str, where: str, *, nullable: bool = False) -> str | None:
    value = item.get(field)
    if value is None and nullable and field in item:
        return None
    if isinstance(value, str) and value:
        return value
    if isinstance(value, int) and not isinstance(value, bool):  # ids typed as numbers by older n8n
        return str(value)
    raise _fail(where, field, "a string" + (" or null" if nullable else ""), value)


def _time(item: Mapping[str, Any], field: str, where: str, *, required: bool = True) -> datetime | None:
    if field not in item:
        if required:
            raise _fail(where, field, "an ISO 8601 date-time or null", "<missing>")
        return None
    value = item[field]
    if value is None:
        return None
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            pass
        else:
            if parsed.tzinfo is not None:
                return parsed
    raise _fail(where, field, "an ISO 8601 date-time with a time zone, or null", value)


def _bool(item: Mapping[str, Any], field: str, where: str) -> bool:
    value = item.get(field)
    if isinstance(value, bool):
        return value
    raise _fail(where, field, "a boolean", value)


def _fast_time(value: Any) -> datetime | None:
    """A timestamp in n8n's usual shape, or raises ValueError/TypeError for the careful path to explain."""
    if value is None:
        return None
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        raise ValueError("no time zone")
    return parsed


def execution_row(
    item: Mapping[str, Any], *, instance: str, workflow_types: Mapping[str, Sequence[str]], where: str
) -> ExecutionRow:
    """One ``n8n_executions`` row from an execution item of the list or single GET."""
    # Fast path for well-formed items (a backfill maps 100k of them); anything unusual takes the careful
    # path below, which names the offending field.
    try:
        execution_id, workflow_id, status, mode = item["id"], item["workflowId"], item["status"], item["mode"]
        retry_of, retry_success = item["retryOf"], item["retrySuccessId"]
        if (
            type(execution_id) is str
            and execution_id.isdigit()
            and type(workflow_id) is str
            and workflow_id
            and type(status) is str
            and status
            and type(mode) is str
            and mode
            and type(item["finished"]) is bool
            and (retry_of is None or type(retry_of) is str and retry_of)
            and (retry_success is None or type(retry_success) is str and retry_success)
        ):
            started, stopped = _fast_time(item["startedAt"]), _fast_time(item["stoppedAt"])
            wait_till = _fast_time(item["waitTill"])
            duration = round((stopped - started).total_seconds() * 1000) if started and stopped else None
            return ExecutionRow(
                instance,
                execution_id,
                workflow_id,
                status,
                item["finished"],
                mode,
                trigger.execution_source(mode, workflow_types.get(workflow_id)),
                started,
                stopped,
                duration,
                retry_of,
                retry_success,
                wait_till,
            )
    except (KeyError, TypeError, ValueError):
        pass
    return _careful_execution_row(item, instance=instance, workflow_types=workflow_types, where=where)


def _careful_execution_row(
    item: Mapping[str, Any], *, instance: str, workflow_types: Mapping[str, Sequence[str]], where: str
) -> ExecutionRow:
    parse_id(item.get("id"), where)
    execution_id = _str(item, "id", where)
    workflow_id = _str(item, "workflowId", where)
    status = _str(item, "status", where)
    mode = _str(item, "mode", where)
    finished = _bool(item, "finished", where)
    started = _time(item, "startedAt", where)
    stopped = _time(item, "stoppedAt", where)
    retry_of = _str(item, "retryOf", where, nullable=True)
    retry_success = _str(item, "retrySuccessId", where, nullable=True)
    wait_till = _time(item, "waitTill", where)
    duration = round((stopped - started).total_seconds() * 1000) if started and stopped else None
    return ExecutionRow(
        instance=instance,
        id=execution_id,
        workflow_id=workflow_id,
        status=status,
        finished=finished,
        mode=mode,
        trigger_source=trigger.execution_source(mode, workflow_types.get(workflow_id)),
        started_at=started,
        stopped_at=stopped,
        duration_ms=duration,
        retry_of=retry_of,
        retry_success_id=retry_success,
        wait_till=wait_till,
    )


def workflow_nodes(item: Mapping[str, Any], where: str) -> list[Mapping[str, Any]]:
    """The nodes that actually run: the published ``activeVersion`` when there is one, else the draft."""
    active_version = item.get("activeVersion")
    nodes = active_version.get("nodes") if isinstance(active_version, dict) else None
    if nodes is None:
        nodes = item.get("nodes")
    if not isinstance(nodes, list) or not all(isinstance(n, dict) for n in nodes):
        raise _fail(where, "nodes", "an array of node objects", nodes)
    return nodes


def workflow_row(item: Mapping[str, Any], *, instance: str, where: str) -> WorkflowRow:
    """One ``n8n_workflows`` row from a ``GET /workflows`` item."""
    workflow_id = _str(item, "id", where)
    name = item.get("name")
    if not isinstance(name, str):
        raise _fail(where, "name", "a string", name)
    if isinstance(item.get("active"), bool):
        active = item["active"]
    elif "activeVersionId" in item:  # `active` is deprecated in favour of activeVersionId
        active = item["activeVersionId"] is not None
    else:
        raise _fail(where, "active", "a boolean", item.get("active"))
    archived = item.get("isArchived")
    if archived is not None and not isinstance(archived, bool):
        raise _fail(where, "isArchived", "a boolean", archived)
    types = trigger.trigger_types(workflow_nodes(item, where))
    return WorkflowRow(
        instance=instance,
        id=workflow_id,
        name=name,
        active=active,
        is_archived=archived,
        trigger_source=trigger.workflow_source(types),
        trigger_types=types,
        created_at=_time(item, "createdAt", where, required=False),
        updated_at=_time(item, "updatedAt", where, required=False),
    )
