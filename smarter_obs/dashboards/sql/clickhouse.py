"""Grafana's ClickHouse plugin (``grafana-clickhouse-datasource`` 4.x): how it turns a panel's SQL into the
SQL ClickHouse runs, in the plugin's own order.

1. Frontend ``applyConditionalAll``: ``$__conditionalAll(condition, $var)`` → ``condition``, or ``1=1``
   when the variable's value is ``''`` or All. The second argument must be a plain ``$var``/``${var}``.
2. Frontend ``templateSrv.replace`` with the plugin's format: multi values → ``'a','b'``, single values
   as written; ``${var:singlequote}`` & co. as in Grafana.
3. Backend macros (comments, strings, backticks and ``$tag$`` quotes are left alone):

   - ``$__timeFilter(c)``: ``c >= toDateTime(<from s>) AND c <= toDateTime(<to s>)``; ``$__timeFilter_ms(c)``
     the same with ``fromUnixTimestamp64Milli(<ms>)``
   - ``$__dateFilter(c)``: ``c >= toDate('YYYY-MM-DD') AND c <= toDate('YYYY-MM-DD')``
   - ``$__dateTimeFilter(d, t)`` / ``$__dt(d, t)``: ``(<dateFilter of d>) AND (<timeFilter of t>)``
   - ``$__fromTime``, ``$__toTime``: ``toDateTime(<s>)``; ``_ms``: ``fromUnixTimestamp64Milli(<ms>)``
   - ``$__timeFrom(c)``: ``c >= toDateTime(<from s>)``; ``$__timeTo(c)``: ``c <= toDateTime(<to s>)``
   - ``$__timeInterval(c)``: ``toStartOfInterval(toDateTime(c), INTERVAL <max(interval s, 1)> second)``
   - ``$__timeInterval_ms(c)``: ``toStartOfInterval(toDateTime64(c, 3), INTERVAL <ms> millisecond)``
   - ``$__timeGroup(c, 5m)``: ``toStartOfInterval(toDateTime(c), INTERVAL 300 second)``
   - ``$__interval_s``: the interval in whole seconds, at least 1

   Any other ``$__name`` is left as written by the plugin (ClickHouse then rejects it); in strict mode
   (validation) it is an error naming the macro.
"""

from __future__ import annotations

import re
from datetime import datetime

from smarter_obs.dashboards.model import ALL
from smarter_obs.dashboards.sql import _grafana
from smarter_obs.dashboards.sql._base import (
    Dialect,
    ExpandContext,
    Expansion,
    MappedExpansion,
    TextBuilder,
    chain,
    in_spans,
    matching_paren,
    protected_spans,
    raise_at,
    register,
    run_stages,
    split_arguments,
)
from smarter_obs.dashboards.timerange import TimeRangeError, interval_to_ms

__all__ = ["ClickHouse", "MACROS"]

_CONDITIONAL_ALL = "$__conditionalAll("
_MACRO_RE = re.compile(r"\$__(\w+)")
_VAR_ARG_RE = re.compile(r"(?<=\$\{)[\w\d]+(?=\})|(?<=\$)[\w\d]+")


def _date(t: datetime) -> str:
    return f"toDate('{t.strftime('%Y-%m-%d')}')"


def _datetime(t: datetime) -> str:
    return f"toDateTime({int(t.timestamp() // 1)})"


def _datetime_ms(t: datetime) -> str:
    return f"fromUnixTimestamp64Milli({int(t.timestamp() * 1000 // 1)})"


def _filter(col: str, lo: str, hi: str) -> str:
    return f"{col} >= {lo} AND {col} <= {hi}"


def _time_group(args: list[str], context: ExpandContext) -> str:
    try:
        seconds = interval_to_ms(args[1].strip("'\"")) // 1000
    except TimeRangeError as exc:
        raise ValueError(f"invalid interval {args[1]!r}: {exc}") from None
    return f"toStartOfInterval(toDateTime({args[0]}), INTERVAL {max(seconds, 1)} second)"


def _interval_seconds(context: ExpandContext) -> int:
    return max(int(context.interval.ms // 1000), 1)


#: name → (arguments: None = no parentheses, else the exact count; expansion)
MACROS = {
    "fromTime": (None, lambda a, c: _datetime(c.time_range.start)),
    "toTime": (None, lambda a, c: _datetime(c.time_range.end)),
    "fromTime_ms": (None, lambda a, c: _datetime_ms(c.time_range.start)),
    "toTime_ms": (None, lambda a, c: _datetime_ms(c.time_range.end)),
    "timeFilter": (1, lambda a, c: _filter(a[0], _datetime(c.time_range.start), _datetime(c.time_range.end))),
    "timeFilter_ms": (
        1,
        lambda a, c: _filter(a[0], _datetime_ms(c.time_range.start), _datetime_ms(c.time_range.end)),
    ),
    "dateFilter": (1, lambda a, c: _filter(a[0], _date(c.time_range.start), _date(c.time_range.end))),
    "dateTimeFilter": (
        2,
        lambda a, c: (
            f"({_filter(a[0], _date(c.time_range.start), _date(c.time_range.end))}) AND "
            f"({_filter(a[1], _datetime(c.time_range.start), _datetime(c.time_range.end))})"
        ),
    ),
    "timeFrom": (1, lambda a, c: f"{a[0]} >= {_datetime(c.time_range.start)}"),
    "timeTo": (1, lambda a, c: f"{a[0]} <= {_datetime(c.time_range.end)}"),
    "timeInterval": (
        1,
        lambda a, c: f"toStartOfInterval(toDateTime({a[0]}), INTERVAL {_interval_seconds(c)} second)",
    ),
    "timeInterval_ms": (
        1,
        lambda a, c: (
            f"toStartOfInterval(toDateTime64({a[0]}, 3), INTERVAL {max(c.interval.ms, 1)} millisecond)"
        ),
    ),
    "timeGroup": (2, _time_group),
    "interval_s": (None, lambda a, c: str(_interval_seconds(c))),
    "table": (None, lambda a, c: ""),
    "column": (None, lambda a, c: ""),
}
MACROS["dt"] = MACROS["dateTimeFilter"]


def _default_format(value: _grafana.Value, name: str) -> str:
    """The plugin's ``format``: arrays → ``'a','b'`` (no escaping, as in the plugin), scalars as they are."""
    if isinstance(value, list):
        return "'" + "','".join(value) + "'"
    return value


def apply_conditional_all(sql: str, context: ExpandContext) -> Expansion:
    """The plugin's ``applyConditionalAll``, last occurrence first."""
    stages = []
    text = sql
    while True:
        index = text.rfind(_CONDITIONAL_ALL)
        if index < 0:
            break
        stage = _one_conditional_all(text, index, context)
        if stage is None:
            break  # the plugin stops and leaves the rest as written
        stages.append(stage.origin)
        text = stage.text
    return MappedExpansion(text, chain(*stages)) if stages else Expansion(sql)


def _one_conditional_all(text: str, index: int, context: ExpandContext) -> Expansion | None:
    open_paren = index + len(_CONDITIONAL_ALL) - 1
    close = matching_paren(text, open_paren)
    inner = text[open_paren + 1 : close] if close > 0 else ""
    parts = split_arguments(inner) if close > 0 else []
    if close < 0 or len(parts) != 2:
        if context.strict:
            raise_at(
                "$__conditionalAll needs exactly 2 arguments: $__conditionalAll(condition, $variable)",
                index,
                len(_CONDITIONAL_ALL),
            )
        return None
    variable_arg = inner[parts[1][0] : parts[1][1]].strip()
    match = _VAR_ARG_RE.search(variable_arg)
    everything = False
    if match and match.group(0) in context.variables:
        value = _grafana.variable_value(match.group(0), context)
        everything = (",".join(value) if isinstance(value, list) else value) in ("", ALL)
    elif context.strict:
        from smarter_obs.dashboards.errors import did_you_mean

        if match:
            name = match.group(0)
            raise_at(
                f"$__conditionalAll: unknown variable ${name}" + did_you_mean(name, context.variables), index
            )
        raise_at(
            f"$__conditionalAll: the second argument must be a plain $variable, got {variable_arg!r}", index
        )
    out = TextBuilder(text)
    out.copy(0, index)
    if everything:
        out.emit("1=1", index, close + 1)
    else:
        out.copy(open_paren + 1 + parts[0][0], open_paren + 1 + parts[0][1])
    out.copy(close + 1, len(text))
    return out.build()


def expand_macros(sql: str, context: ExpandContext) -> Expansion:
    """The plugin backend's macro expansion (strings, comments, backticks and ``$tag$`` quotes protected)."""
    spans = protected_spans(sql)
    out = TextBuilder(sql)
    position = 0
    for match in _MACRO_RE.finditer(sql):
        start = match.start()
        if start < position or in_spans(start, spans):
            continue
        name = match.group(1)
        spec = MACROS.get(name)
        if spec is None:
            if name in ("conditionalAll",):
                continue
            if context.strict:
                from smarter_obs.dashboards.errors import did_you_mean

                raise_at(
                    f"unknown macro $__{name}"
                    + did_you_mean(name, MACROS)
                    + " (the ClickHouse plugin leaves it as written)",
                    start,
                    len(match.group(0)),
                )
            continue
        arity, fn = spec
        end = match.end()
        args: list[str] = []
        if arity is None and end < len(sql) and sql[end] == "(":
            close = matching_paren(sql, end)
            if close > 0 and not sql[end + 1 : close].strip():
                end = close + 1  # `$__fromTime()` is read as `$__fromTime`
        elif arity is not None:
            if end >= len(sql) or sql[end] != "(":
                raise_at(
                    f"macro $__{name} needs {arity} argument{'s' if arity > 1 else ''} in parentheses", start
                )
            close = matching_paren(sql, end)
            if close < 0:
                raise_at(f"macro $__{name}: unclosed '('", end)
            inner = sql[end + 1 : close]
            args = [inner[a:b].strip() for a, b in split_arguments(inner)]
            if args == [""]:
                args = []
            if len(args) != arity or any(not a for a in args):
                raise_at(
                    f"macro $__{name} expects {arity} argument{'s' if arity > 1 else ''}, "
                    f"received {len(args)}" + (" (an argument is empty)" if len(args) == arity else ""),
                    start,
                    close + 1 - start,
                )
            end = close + 1
        try:
            replacement = fn(args, context)
        except ValueError as exc:
            raise_at(f"macro $__{name}: {exc}", start, end - start)
        out.copy(position, start)
        out.emit(replacement, start, end)
        position = end
    out.copy(position, len(sql))
    return out.build()


@register
class ClickHouse(Dialect):
    """Grafana's ClickHouse plugin."""

    name = "clickhouse"
    target = "grafana"
    engine = "clickhouse"

    def expand(self, sql: str, context: ExpandContext) -> Expansion:
        return run_stages(
            sql,
            (
                lambda text: apply_conditional_all(text, context),
                lambda text: _grafana.interpolate(text, context, _default_format),
                lambda text: expand_macros(text, context),
            ),
        )
