"""Compiled payloads shaped as issues 11/12 describe, for driving publish before (and beside) the real
compiler: Grafana classic JSON (schemaVersion 42, stable uid, ClickHouse/PostgreSQL targets) and Metabase
payloads (cards with a stable key, native SQL, template tags; a dashboard with parameters and dashcards)."""

from __future__ import annotations

import copy
from typing import Any

CH = {"type": "grafana-clickhouse-datasource", "uid": "smarter-obs-clickhouse"}
PG = {"type": "grafana-postgresql-datasource", "uid": "smarter-obs-supabase"}


def _panel(pid: int, title: str, ds: dict[str, str], sql: str, kind: str = "timeseries") -> dict[str, Any]:
    target = (
        {
            "refId": "A",
            "datasource": ds,
            "editorType": "sql",
            "format": 0,
            "queryType": "timeseries",
            "rawSql": sql,
        }
        if ds is CH
        else {
            "refId": "A",
            "datasource": ds,
            "editorMode": "code",
            "rawQuery": True,
            "format": "time_series",
            "rawSql": sql,
        }
    )
    return {
        "id": pid,
        "type": kind,
        "title": title,
        "datasource": ds,
        "gridPos": {"x": 0, "y": (pid - 1) * 8, "w": 12, "h": 8},
        "targets": [target],
        "fieldConfig": {"defaults": {"unit": "ms"}, "overrides": []},
        "options": {
            "legend": {"showLegend": True, "displayMode": "list", "placement": "bottom", "calcs": []}
        },
    }


def grafana_dashboards() -> dict[str, dict[str, Any]]:
    mcp = {
        "uid": "smarter-obs-mcp-tools",
        "title": "MCP Tool Execution",
        "tags": ["smarter-obs", "mcp"],
        "timezone": "utc",
        "editable": True,
        "schemaVersion": 42,
        "time": {"from": "now-6h", "to": "now"},
        "annotations": {"list": []},
        "templating": {
            "list": [
                {
                    "type": "query",
                    "name": "tool",
                    "label": "Tool",
                    "multi": True,
                    "includeAll": True,
                    "datasource": CH,
                    "query": {
                        "editorType": "sql",
                        "rawSql": "SELECT DISTINCT ToolName FROM mcp_tool_calls_1m",
                    },
                }
            ]
        },
        "panels": [
            _panel(
                1,
                "Tool latency p50 / p95 / p99",
                CH,
                "SELECT $__timeInterval(Minute) AS time,\n  quantilesTDigestMerge(0.5)(Q)\n"
                "FROM mcp_tool_calls_1m\n"
                "WHERE $__timeFilter(Minute)\nGROUP BY time ORDER BY time",
            ),
            _panel(
                2,
                "Tool calls per minute",
                CH,
                "SELECT $__timeInterval(Minute) AS time, sum(Calls)\nFROM mcp_tool_calls_1m\n"
                "WHERE $__timeFilter(Minute)\nGROUP BY time ORDER BY time",
            ),
        ],
    }
    n8n = {
        "uid": "smarter-obs-n8n",
        "title": "N8N Automations",
        "tags": ["smarter-obs", "n8n"],
        "timezone": "utc",
        "editable": True,
        "schemaVersion": 42,
        "time": {"from": "now-7d", "to": "now"},
        "annotations": {"list": []},
        "templating": {"list": []},
        "panels": [
            _panel(
                1,
                "Executions",
                PG,
                "SELECT $__timeGroupAlias(started_at,'1h'), count(*) AS executions\nFROM n8n_executions\n"
                "WHERE $__timeFilter(started_at)\nGROUP BY 1 ORDER BY 1",
            ),
        ],
    }
    return {"mcp-tools": mcp, "n8n": n8n}


def _tags(*names: str) -> dict[str, dict[str, Any]]:
    kinds = {"start": "date", "end": "date", "tenant": "text", "inbox": "text"}
    return {n: {"name": n, "display-name": n.title(), "type": kinds[n]} for n in names}


def _params(*names: str) -> list[dict[str, Any]]:
    types = {"start": "date/single", "end": "date/single", "tenant": "string/=", "inbox": "string/="}
    return [
        {"id": f"p-{n}", "name": n.title(), "slug": n, "type": types[n], "sectionId": types[n].split("/")[0]}
        for n in names
    ]


def _mappings(*names: str) -> list[dict[str, Any]]:
    return [{"parameter_id": f"p-{n}", "target": ["variable", ["template-tag", n]]} for n in names]


def metabase_payloads() -> dict[str, dict[str, Any]]:
    commerce = {
        "slug": "commerce",
        "name": "Commerce Analytics",
        "description": "Revenue, orders and conversion from Shopify data in Supabase.",
        "parameters": _params("start", "end", "tenant"),
        "cards": [
            {
                "key": "commerce/revenue-per-day",
                "name": "Revenue per day",
                "description": "Sum of total_price of orders not cancelled, per UTC day.",
                "display": "line",
                "visualization_settings": {"graph.dimensions": ["day"], "graph.metrics": ["revenue"]},
                "database": "supabase",
                "query": "SELECT date_trunc('day', created_at) AS day, sum(total_price) AS revenue\n"
                "FROM orders\n"
                "WHERE cancelled_at IS NULL AND created_at >= {{start}} AND created_at < {{end}}\n"
                "[[AND tenant_id = {{tenant}}]]\nGROUP BY 1 ORDER BY 1",
                "template_tags": _tags("start", "end", "tenant"),
            },
            {
                "key": "commerce/conversion-rate",
                "name": "Conversion rate",
                "description": "Checkouts created in the range that were completed / checkouts created.",
                "display": "scalar",
                "visualization_settings": {},
                "database": "supabase",
                "query": "SELECT avg((completed_at IS NOT NULL)::int) AS conversion FROM checkouts\n"
                "WHERE created_at >= {{start}} AND created_at < {{end}} [[AND tenant_id = {{tenant}}]]",
                "template_tags": _tags("start", "end", "tenant"),
            },
        ],
        "dashcards": [
            {
                "card": "commerce/revenue-per-day",
                "row": 0,
                "col": 0,
                "size_x": 12,
                "size_y": 6,
                "parameter_mappings": _mappings("start", "end", "tenant"),
                "visualization_settings": {},
            },
            {
                "card": "commerce/conversion-rate",
                "row": 0,
                "col": 12,
                "size_x": 6,
                "size_y": 4,
                "parameter_mappings": _mappings("start", "end", "tenant"),
                "visualization_settings": {},
            },
        ],
    }
    support = {
        "slug": "support",
        "name": "Messaging & Support",
        "description": "Chatwoot conversations, response and resolution times.",
        "parameters": _params("start", "end", "inbox"),
        "cards": [
            {
                "key": "support/conversations-per-inbox",
                "name": "Conversations per inbox",
                "description": "Conversations created in the range, per inbox.",
                "display": "bar",
                "visualization_settings": {},
                "database": "chatwoot",
                "query": "SELECT i.name AS inbox, count(*) AS conversations\n"
                "FROM conversations c JOIN inboxes i ON i.id = c.inbox_id\n"
                "WHERE c.created_at >= {{start}} AND c.created_at < {{end}}\n"
                "[[AND i.name = {{inbox}}]]\nGROUP BY 1",
                "template_tags": _tags("start", "end", "inbox"),
            }
        ],
        "dashcards": [
            {
                "card": "support/conversations-per-inbox",
                "row": 0,
                "col": 0,
                "size_x": 12,
                "size_y": 6,
                "parameter_mappings": _mappings("start", "end", "inbox"),
                "visualization_settings": {},
            },
        ],
    }
    return {"commerce": commerce, "support": support}


def payloads():
    from smarter_obs.dashboards.publish import Payloads

    return Payloads(copy.deepcopy(grafana_dashboards()), copy.deepcopy(metabase_payloads()))
