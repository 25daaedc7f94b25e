"""Grafana's PostgreSQL datasource (``grafana-postgresql-datasource``): frontend variable interpolation, then
the backend's global replacements and macros (``pkg/tsdb/grafana-postgresql-datasource/macros.go``).

1. Frontend ``templateSrv.replace`` with the datasource's ``interpolateVariable``: a multi-value or
   include-All variable's values are quoted (``'a','b'``, ``'`` doubled); a plain single value goes in as
   written with ``'`` doubled; ``${var:csv}`` etc. as in Grafana.
2. Backend: ``$__interval_ms``, ``$__interval``, ``$__unixEpochFrom()``, ``$__unixEpochTo()``.
3. Backend macros, found by ``\\$([_a-zA-Z0-9]+)\\(([^\\)]*)\\)``: every macro needs parentheses,
   arguments split on ``,`` and trimmed, no nested parentheses; an unknown name is an error
   (``unknown macro "__foo"``).

=================================  ==========================================================================
``$__time(c)``                     ``c AS "time"``
``$__timeEpoch(c)``                ``extract(epoch from c) as "time"``
``$__timeFilter(c)``               ``c BETWEEN '<from RFC3339Nano>' AND '<to RFC3339Nano>'``
``$__timeFrom()``/``$__timeTo()``  ``'<RFC3339Nano>'``
``$__timeGroup(c, '5m'[, fill])``  ``floor(extract(epoch from c)/300)*300``
``$__timeGroupAlias(c, '5m')``     the same + `` AS "time"``
``$__unixEpochFilter(c)``          ``c >= <from s> AND c <= <to s>``; ``$__unixEpochNanoFilter(c)`` in ns
``$__unixEpochNanoFrom()``/``To``  ns integers
``$__unixEpochGroup(c, '5m')``     ``floor((c)/300)*300``; ``…Alias`` adds `` AS "time"``
=================================  ==========================================================================
"""

from __future__ import annotations

import re
from datetime import datetime

from smarter_obs.dashboards.sql import _grafana
from smarter_obs.dashboards.sql._base import (
    Dialect,
    ExpandContext,
    Expansion,
    TextBuilder,
    protected_spans,
    raise_at,
    register,
    run_stages,
)
from smarter_obs.dashboards.timerange import format_interval

__all__ = ["MACROS", "GrafanaPostgres"]

_MACRO_RE = re.compile(r"\$([_a-zA-Z0-9]+)\(([^\)]*)\)")
_BARE_MACRO_RE = re.compile(r"\$(__\w+)(?!\w)(?!\()")
_GLOBALS = ("__interval_ms", "__interval", "__unixEpochFrom", "__unixEpochTo")
_INTERVAL_RE = re.compile(r"^(\d+(?:\.\d+)?)(ms|s|m|h|d|w|M|y)$")
_UNIT_SECONDS = {
    "ms": 0.001,
    "s": 1,
    "m": 60,
    "h": 3600,
    "d": 86400,
    "w": 604800,
    "M": 2592000,
    "y": 31536000,
}


def rfc3339_nano(t: datetime) -> str:
    """Go's ``time.RFC3339Nano`` in UTC: fractional seconds without trailing zeros, ``Z``."""
    base = t.strftime("%Y-%m-%dT%H:%M:%S")
    fraction = f"{t.microsecond:06d}".rstrip("0")
    return f"{base}.{fraction}Z" if fraction else f"{base}Z"


def _go_float(value: float) -> str:
    """Go's ``%v`` of a float64 (``300``, ``0.5``)."""
    return str(int(value)) if float(value).is_integer() and abs(value) < 1e21 else repr(float(value))


def _interval_seconds(text: str, name: str) -> float:
    raw = text.strip().strip("'")
    match = _INTERVAL_RE.match(raw)
    if not match:
        raise ValueError(f"error parsing interval {text.strip()} (use e.g. '5m', '1h', '1d', or $__interval)")
    return float(match.group(1)) * _UNIT_SECONDS[match.group(2)]


def _one(args: list[str], name: str) -> str:
    if not args or not args[0]:
        raise ValueError(f"missing time column argument for macro {name}")
    return args[0]


def _group(args: list[str], name: str, *, epoch: bool) -> str:
    if len(args) < 2 or not args[0]:
        raise ValueError(f"macro {name} needs time column and interval and optional fill value")
    if len(args) == 3 and not re.match(r"^(NULL|previous|-?\d+(\.\d+)?)$", args[2].strip()):
        raise ValueError(f"macro {name}: fill value {args[2]!r} is not NULL, previous or a number")
    seconds = _go_float(_interval_seconds(args[1], name))
    if epoch:
        return f"floor(({args[0]})/{seconds})*{seconds}"
    return f"floor(extract(epoch from {args[0]})/{seconds})*{seconds}"


def _macros(name: str, args: list[str], context: ExpandContext) -> str:
    tr = context.time_range
    from_s, to_s = tr.from_ms // 1000, tr.to_ms // 1000
    from_ns, to_ns = tr.from_ms * 1_000_000, tr.to_ms * 1_000_000
    table = {
        "__time": lambda: f'{_one(args, name)} AS "time"',
        "__timeEpoch": lambda: f'extract(epoch from {_one(args, name)}) as "time"',
        "__timeFilter": lambda: (
            f"{_one(args, name)} BETWEEN '{rfc3339_nano(tr.start)}' AND '{rfc3339_nano(tr.end)}'"
        ),
        "__timeFrom": lambda: f"'{rfc3339_nano(tr.start)}'",
        "__timeTo": lambda: f"'{rfc3339_nano(tr.end)}'",
        "__timeGroup": lambda: _group(args, name, epoch=False),
        "__timeGroupAlias": lambda: _group(args, name, epoch=False) + ' AS "time"',
        "__unixEpochFilter": lambda: f"{_one(args, name)} >= {from_s} AND {args[0]} <= {to_s}",
        "__unixEpochNanoFilter": lambda: f"{_one(args, name)} >= {from_ns} AND {args[0]} <= {to_ns}",
        "__unixEpochNanoFrom": lambda: str(from_ns),
        "__unixEpochNanoTo": lambda: str(to_ns),
        "__unixEpochGroup": lambda: _group(args, name, epoch=True),
        "__unixEpochGroupAlias": lambda: _group(args, name, epoch=True) + ' AS "time"',
    }
    fn = table.get(name)
    if fn is None:
        raise KeyError(name)
    return fn()


#: The macro names the backend knows (``$`` + name + ``(…)``).
MACROS = (
    "__time",
    "__timeEpoch",
    "__timeFilter",
    "__timeFrom",
    "__timeTo",
    "__timeGroup",
    "__timeGroupAlias",
    "__unixEpochFilter",
    "__unixEpochNanoFilter",
    "__unixEpochNanoFrom",
    "__unixEpochNanoTo",
    "__unixEpochGroup",
    "__unixEpochGroupAlias",
)


def _default_format(value: _grafana.Value, name: str, context: ExpandContext) -> str:
    variable = context.variables[name]
    if isinstance(value, list):
        return ",".join("'" + v.replace("'", "''") + "'" for v in value)
    if variable.multi or variable.include_all:
        return "'" + value.replace("'", "''") + "'"
    return value.replace("'", "''")


def expand_globals(sql: str, context: ExpandContext) -> Expansion:
    """sqleng's ``Interpolate``: interval and epoch globals, plain string replacement in this order."""
    tr = context.time_range
    replacements = (
        ("$__interval_ms", str(context.interval.ms)),
        ("$__interval", format_interval(context.interval.ms)),
        ("$__unixEpochFrom()", str(tr.from_ms // 1000)),
        ("$__unixEpochTo()", str(tr.to_ms // 1000)),
    )
    pattern = re.compile("|".join(re.escape(old) for old, _new in replacements))
    lookup = dict(replacements)
    out = TextBuilder(sql)
    position = 0
    for match in pattern.finditer(sql):
        out.copy(position, match.start())
        out.emit(lookup[match.group(0)], match.start(), match.end())
        position = match.end()
    out.copy(position, len(sql))
    return out.build()


def expand_macros(sql: str, context: ExpandContext) -> Expansion:
    """The backend macro engine: every ``$name(args)`` is a macro; unknown names are errors."""
    if context.strict:
        spans = protected_spans(sql, backticks=False)
        for match in _BARE_MACRO_RE.finditer(sql):
            if match.group(1) in MACROS and not any(a <= match.start() < b for a, b in spans):
                raise_at(
                    f"macro ${match.group(1)} needs parentheses: ${match.group(1)}(…) "
                    "(Grafana's PostgreSQL datasource only expands macros written with parentheses)",
                    match.start(),
                    len(match.group(0)),
                )
    out = TextBuilder(sql)
    position = 0
    for match in _MACRO_RE.finditer(sql):
        name = match.group(1)
        args = [a.strip(" ") for a in match.group(2).split(",")]
        try:
            replacement = _macros(name, args, context)
        except KeyError:
            from smarter_obs.dashboards.errors import did_you_mean

            raise_at(
                f'unknown macro "{name}"' + did_you_mean(name, MACROS), match.start(), len(match.group(0))
            )
        except ValueError as exc:
            raise_at(str(exc), match.start(), len(match.group(0)))
        out.copy(position, match.start())
        out.emit(replacement, match.start(), match.end())
        position = match.end()
    out.copy(position, len(sql))
    return out.build()


@register
class GrafanaPostgres(Dialect):
    """Grafana's PostgreSQL datasource."""

    name = "grafana_postgres"
    target = "grafana"
    engine = "postgres"

    def expand(self, sql: str, context: ExpandContext) -> Expansion:
        def fmt(value: _grafana.Value, name: str) -> str:
            return _default_format(value, name, context)

        return run_stages(
            sql,
            (
                lambda text: _grafana.interpolate(
                    text, context, fmt, protect=lambda s: protected_spans(s, backticks=False)
                ),
                lambda text: expand_globals(text, context),
                lambda text: expand_macros(text, context),
            ),
        )
