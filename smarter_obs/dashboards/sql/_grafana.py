"""Grafana's frontend variable interpolation (``templateSrv.replace``), shared by the Grafana dialects.

Syntax: ``$var``, ``${var}``, ``${var:format}``, deprecated ``[[var]]`` / ``[[var:format]]``. A name that is
not a variable is left as written (Grafana does the same; backend macros such as ``$__timeFilter`` pass
through this stage untouched). Built-ins: ``$__interval``, ``$__interval_ms``, ``$__range``,
``$__range_s``, ``$__range_ms``, ``${__from}`` / ``${__to}`` (epoch ms; ``:date``, ``:date:iso``,
``:date:seconds``), ``$__dashboard``.

"All" selected: a custom ``all_value`` is inserted as is (unformatted, as Grafana does); otherwise every
option value is formatted like a multi-value selection.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from urllib.parse import quote

from smarter_obs.dashboards.model import ALL
from smarter_obs.dashboards.sql._base import ExpandContext, Expansion, TextBuilder, in_spans, protected_spans
from smarter_obs.dashboards.timerange import format_interval

__all__ = ["FORMATS", "Value", "interpolate", "is_all", "variable_value"]

# templateSrv's regex: $var | [[var:fmt]] | ${var.fieldPath:fmt}
_VARIABLE_RE = re.compile(r"\$(\w+)|\[\[(\w+?)(?::(\w+))?\]\]|\$\{(\w+)(?:\.([^:^\}]+))?(?::([^\}]+))?\}")

Value = str | list[str]


def _regex_escape(value: str) -> str:
    return re.sub(r"[\\^$*+?.()|\[\]{}/]", lambda m: "\\" + m.group(0), value)


def _each(value: Value, fn: Callable[[str], str], sep: str = ",") -> str:
    if isinstance(value, list):
        return sep.join(fn(v) for v in value)
    return fn(value)


def _regex(value: Value) -> str:
    if isinstance(value, list):
        if len(value) == 1:
            return _regex_escape(value[0])
        return "(" + "|".join(_regex_escape(v) for v in value) + ")"
    return _regex_escape(value)


def _glob(value: Value) -> str:
    if isinstance(value, list) and len(value) > 1:
        return "{" + ",".join(value) + "}"
    return value[0] if isinstance(value, list) else value


def _percent(value: Value) -> str:
    if isinstance(value, list):
        return quote("{" + ",".join(value) + "}", safe="")
    return quote(value, safe="")


#: Grafana's variable formats (``${var:name}``); an unknown format falls back to ``glob`` as in Grafana.
FORMATS: dict[str, Callable[[Value], str]] = {
    "csv": lambda v: ",".join(v) if isinstance(v, list) else v,
    "raw": lambda v: ",".join(v) if isinstance(v, list) else v,
    "distributed": lambda v: ",".join(v) if isinstance(v, list) else v,
    "singlequote": lambda v: _each(v, lambda s: "'" + s.replace("'", "\\'") + "'"),
    "sqlstring": lambda v: _each(v, lambda s: "'" + s.replace("'", "''") + "'"),
    "doublequote": lambda v: _each(v, lambda s: '"' + s.replace('"', '\\"') + '"'),
    "json": lambda v: json.dumps(v, separators=(",", ":")),
    "pipe": lambda v: "|".join(v) if isinstance(v, list) else v,
    "regex": _regex,
    "glob": _glob,
    "lucene": lambda v: ("(" + " OR ".join(json.dumps(s) for s in v) + ")") if isinstance(v, list) else v,
    "percentencode": _percent,
}


def is_all(selection: Sequence[str]) -> bool:
    return len(selection) == 1 and selection[0] == ALL


def variable_value(name: str, context: ExpandContext) -> Value:
    """A variable's current value as Grafana holds it: a list for multi-value variables, else a string."""
    variable = context.variables[name]
    selection = tuple(context.values.get(name, ()))
    if variable.multi:
        return list(selection)
    return selection[0] if selection else ""


def _all_values(name: str, context: ExpandContext) -> list[str]:
    return [choice.value for choice in context.options.get(name, ())]


def _text(name: str, context: ExpandContext, selection: Sequence[str]) -> str:
    if is_all(selection):
        return "All"
    labels = {c.value: c.label for c in context.options.get(name, ())}
    return " + ".join(labels.get(v, v) for v in selection)


def _builtin(name: str, fmt: str | None, context: ExpandContext) -> str | None:
    tr, interval = context.time_range, context.interval
    if name == "__interval":
        return format_interval(interval.ms)
    if name == "__interval_ms":
        return str(interval.ms)
    if name == "__range_ms":
        return str(tr.duration_ms)
    if name == "__range_s":
        return str(round(tr.duration_ms / 1000))
    if name == "__range":
        return f"{round(tr.duration_ms / 1000)}s"
    if name == "__dashboard" and context.dashboard is not None:
        return context.dashboard.title
    if name in ("__from", "__to"):
        t = tr.start if name == "__from" else tr.end
        ms = tr.from_ms if name == "__from" else tr.to_ms
        if fmt in (None, ""):
            return str(ms)
        if fmt in ("date", "date:iso"):
            return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"
        if fmt == "date:seconds":
            return str(ms // 1000)
        return None
    return None


def interpolate(
    sql: str,
    context: ExpandContext,
    default_format: Callable[[Value, str], str],
    *,
    protect: Callable[[str], list[tuple[int, int]]] = protected_spans,
) -> Expansion:
    """``templateSrv.replace(sql, scopedVars, format)``: every dashboard variable and built-in replaced.

    ``default_format(value, name)`` formats a variable written without ``:format`` (each datasource has its
    own). In strict mode an unknown ``$name`` outside strings and comments raises QuerySyntaxError.
    """
    from smarter_obs.dashboards.sql._base import raise_at

    out = TextBuilder(sql)
    position = 0
    spans: list[tuple[int, int]] | None = None
    for match in _VARIABLE_RE.finditer(sql):
        name = match.group(1) or match.group(2) or match.group(4)
        fmt = match.group(3) or match.group(6)
        field_path = match.group(5)
        if name.startswith("__"):
            replacement = _builtin(name, fmt, context)
            if replacement is None and name in ("__from", "__to"):
                raise_at(
                    f"unsupported format {fmt!r} for ${{{name}}}: use date, date:iso or date:seconds",
                    match.start(),
                )
        elif name in context.variables:
            replacement = _format_variable(name, fmt, field_path, context, default_format)
        else:
            if context.strict:
                # `$name` inside a string or comment may be literal text; `${name}` / `[[name]]` inside a
                # string is meant as a variable (comments never run).
                spans = spans if spans is not None else protect(sql)
                braced = not match.group(1)
                inside = in_spans(match.start(), spans)
                if not inside or (braced and not _in_comment(sql, match.start(), spans)):
                    from smarter_obs.dashboards.errors import did_you_mean

                    raise_at(
                        f"unknown variable ${name}" + did_you_mean(name, context.variables),
                        match.start(),
                        len(match.group(0)),
                    )
            replacement = None
        if replacement is None:
            continue
        out.copy(position, match.start())
        out.emit(replacement, match.start(), match.end())
        position = match.end()
    out.copy(position, len(sql))
    return out.build()


def _in_comment(sql: str, offset: int, spans: list[tuple[int, int]]) -> bool:
    return any(start <= offset < end and sql.startswith(("--", "/*"), start) for start, end in spans)


def _format_variable(
    name: str,
    fmt: str | None,
    field_path: str | None,
    context: ExpandContext,
    default_format: Callable[[Value, str], str],
) -> str:
    variable = context.variables[name]
    selection = tuple(context.values.get(name, ()))
    if fmt == "text":
        return _text(name, context, selection)
    if fmt == "queryparam":
        values = _all_values(name, context) if is_all(selection) else list(selection)
        return "&".join(f"var-{name}={quote(v, safe='')}" for v in values)
    value: Value
    if is_all(selection):
        if variable.all_value is not None and fmt != "percentencode":
            return variable.all_value  # a custom all value goes in as written
        value = _all_values(name, context)
    else:
        value = variable_value(name, context)
    if fmt is None:
        return default_format(value, name)
    formatter = FORMATS.get(fmt, FORMATS["glob"])
    return formatter(value)
