"""Metabase native (SQL) questions: template tags ``{{name}}`` and optional clauses ``[[ … ]]``.

Parsed as Metabase's own parser does (``driver/common/parameters/parse.clj``): ``{{`` opens a tag (the last
two braces of a longer run), ``[[`` an optional clause (they nest), ``--`` and ``/* */`` comments outside an
optional clause hide what they contain, string literals do not. Substituted as its SQL drivers do
(``driver/sql/parameters/substitute.clj``): an optional clause is kept only when every tag directly in it
has a value, a tag outside any clause must have one ("missing required parameters"), a text value becomes
a bound string, a number a number, a date a ``date``.

A tag's type and role come from the dashboard variable of the same name (its ``extra`` is a
:class:`~smarter_obs.dashboards.metabase.MetabaseParameter`). The two tags of the dashboard's date-range
filter (``range="start"``/``"end"``) take the UTC days of ``--from``/``--to`` when no value is given for
them and the range was given explicitly (``ExpandContext.explicit_range``); otherwise "no value".

The expansion's :attr:`~MetabaseExpansion.text` shows values as SQL literals (what ``query --sql`` prints and
sqlglot checks); :meth:`~MetabaseExpansion.statement` gives the same query with ``%s`` placeholders and
its parameters, which is what runs.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from smarter_obs.dashboards.model import ALL
from smarter_obs.dashboards.sql._base import (
    Dialect,
    ExpandContext,
    Expansion,
    TextBuilder,
    raise_at,
    register,
)

__all__ = ["TAG_TYPES", "Metabase", "MetabaseExpansion", "Optional", "Param", "parse_template"]

#: Types of Metabase's basic variables.
TAG_TYPES = ("text", "number", "date")

_TOKENS = re.compile(r"\[\[|\]\]|\{\{(?!\{)|\}\}|/\*|\*/|--|\n")
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


@dataclass(frozen=True)
class Param:
    """``{{name}}`` at ``[start, end)`` of the template."""

    name: str
    start: int
    end: int


@dataclass(frozen=True)
class Optional:
    """``[[ … ]]`` at ``[start, end)``; its parts are text spans ``(start, end)``, params and clauses."""

    parts: tuple[tuple[int, int] | Param | Optional, ...]
    start: int
    end: int

    def params(self) -> list[Param]:
        """The tags directly in this clause (not those of nested clauses)."""
        return [p for p in self.parts if isinstance(p, Param)]


Part = tuple[int, int] | Param | Optional


class _Parser:
    """A recursive descent over Metabase's tokens, keeping offsets."""

    def __init__(self, sql: str) -> None:
        self.sql = sql
        self.tokens = [(m.start(), m.group(0)) for m in _TOKENS.finditer(sql)]
        self.i = 0

    def parse(self) -> list[Part]:
        return self._parts(0, optional=False)[0]

    def _parts(self, start: int, *, optional: bool, comment: str | None = None) -> tuple[list[Part], int]:
        parts: list[Part] = []
        position = start
        while self.i < len(self.tokens):
            at, token = self.tokens[self.i]
            self.i += 1
            if comment == "--" and token == "\n" or comment == "/*" and token == "*/":
                parts.append((position, at + len(token)))
                return parts, at + len(token)
            if comment or token == "\n" or token in ("*/", "}}"):
                continue
            if token in ("--", "/*"):
                if optional:  # inside [[ ]] Metabase takes comment markers as text
                    continue
                parts.append((position, at))
                inner, position = self._parts(at, optional=False, comment=token)
                parts.extend(inner)
                continue
            if token == "]]":
                if not optional:
                    continue
                parts.append((position, at))
                return parts, at + 2
            parts.append((position, at))
            if token == "{{":
                parts.append(self._param(at))
                position = parts[-1].end  # type: ignore[union-attr]
            else:  # "[["
                inner, end = self._parts(at + 2, optional=True)
                clause = Optional(
                    tuple(p for p in inner if not (isinstance(p, tuple) and p[0] == p[1])), at, end
                )
                if not clause.params():
                    raise_at("'[[...]]' clauses must contain at least one '{{...}}' clause", at, end - at)
                parts.append(clause)
                position = end
        if optional:
            raise_at("found '[[' with no matching ']]'", start - 2, 2)
        parts.append((position, len(self.sql)))  # the end of the text (or of an unclosed comment)
        return parts, len(self.sql)

    def _param(self, at: int) -> Param:
        for j in range(self.i, len(self.tokens)):
            end, token = self.tokens[j]
            if token == "}}":
                name = self.sql[at + 2 : end].strip()
                if not name:
                    raise_at("'{{...}}' clauses cannot be empty", at, end + 2 - at)
                if not re.fullmatch(r"[A-Za-z_][\w.-]*", name):
                    raise_at(
                        f"{{{{{name}}}}}: smarter-obs supports Metabase variables only (no snippets, card "
                        "references or nested tags)",
                        at,
                        end + 2 - at,
                    )
                self.i = j + 1
                return Param(name, at, end + 2)
            if token in ("{{", "[[", "]]"):
                break
        raise_at("found '{{' with no matching '}}'", at, 2)
        raise AssertionError  # unreachable: raise_at raises


def parse_template(sql: str) -> list[Part]:
    """The parts of a Metabase SQL template; QuerySyntaxError (with an offset) when it is malformed."""
    return _Parser(sql).parse()


def iter_params(parts: Iterable[Part]) -> Iterable[Param]:
    for part in parts:
        if isinstance(part, Param):
            yield part
        elif isinstance(part, Optional):
            yield from iter_params(part.parts)


# -- values ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Value:
    """One tag's value as a SQL literal and as bound parameters."""

    literal: str
    params: tuple[Any, ...]


def _to_date(text: str, name: str) -> date:
    raw = text.strip()
    try:
        if len(raw) == 10:
            return date.fromisoformat(raw)
        return datetime.fromisoformat(raw.replace("Z", "+00:00")).date()
    except ValueError:
        raise ValueError(f"{{{{{name}}}}} is a date: {text!r} is not YYYY-MM-DD") from None


def _one_value(raw: str, tag_type: str, name: str) -> tuple[str, Any]:
    if tag_type == "date":
        day = _to_date(raw, name)
        return f"DATE '{day.isoformat()}'", day
    if tag_type == "number":
        if not _NUMBER.match(raw.strip()):
            raise ValueError(f"{{{{{name}}}}} is a number: {raw!r} is not one")
        number = float(raw) if any(c in raw for c in ".eE") else int(raw)
        return raw.strip(), number
    return "'" + raw.replace("'", "''") + "'", raw


def _render_values(values: Sequence[str], tag_type: str, name: str) -> _Value:
    """Several values are joined with ``, `` as Metabase does for a multi-value variable."""
    rendered = [_one_value(v, tag_type, name) for v in values]
    return _Value(", ".join(lit for lit, _ in rendered), tuple(p for _, p in rendered))


def _settings(variable: Any) -> tuple[str, str | None]:
    """(tag type, range role) of a dashboard variable: from its MetabaseParameter extra, else text."""
    extra = getattr(variable, "extra", None)
    return getattr(extra, "tag_type", "text"), getattr(extra, "range", None)


def tag_values(names: Iterable[str], context: ExpandContext) -> dict[str, tuple[str, ...] | None]:
    """Each tag's selected values, or ``None`` for "no value" (empty, All, or not given)."""
    out: dict[str, tuple[str, ...] | None] = {}
    explicit_range = getattr(context, "explicit_range", False)
    for name in names:
        variable = context.variables.get(name)
        selected = tuple(context.values.get(name, ()))
        if not selected or selected == (ALL,) or all(v == "" for v in selected):
            selected = ()
        if not selected and variable is not None and explicit_range:
            _, role = _settings(variable)
            if role == "start":
                selected = (context.time_range.start.date().isoformat(),)
            elif role == "end":
                selected = (context.time_range.end.date().isoformat(),)
        out[name] = selected or None
    return out


# -- expansion -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MetabaseExpansion(Expansion):
    """The SQL Metabase runs, with values shown as literals; :meth:`statement` binds them instead."""

    pieces: tuple[tuple[str, bool, tuple[Any, ...]], ...] = field(default=(), repr=False)

    def statement(self) -> tuple[str, tuple[Any, ...]]:
        """``(sql with %s placeholders, parameters)`` for psycopg: every value bound, ``%`` doubled."""
        sql: list[str] = []
        params: list[Any] = []
        for text, is_value, values in self.pieces:
            if is_value:
                sql.append(", ".join(["%s"] * len(values)))
                params.extend(values)
            else:
                sql.append(text.replace("%", "%%"))
        return "".join(sql), tuple(params)


class _Substitution:
    def __init__(self, sql: str, context: ExpandContext) -> None:
        self.sql = sql
        self.context = context
        self.out = TextBuilder(sql)
        self.pieces: list[tuple[str, bool, tuple[Any, ...]]] = []
        self.missing: list[Param] = []

    def run(self, parts: Sequence[Part]) -> MetabaseExpansion:
        names = {p.name for p in iter_params(parts)}
        for name in sorted(names):
            if name not in self.context.variables:
                param = next(p for p in iter_params(parts) if p.name == name)
                from smarter_obs.dashboards.errors import did_you_mean

                known = sorted(self.context.variables)
                raise_at(
                    f"unknown template tag {{{{{name}}}}}: the dashboard has no parameter {name!r}"
                    + did_you_mean(name, known),
                    param.start,
                    param.end - param.start,
                )
        self.values = tag_values(names, self.context)
        self._emit(parts)
        if self.missing:
            first = self.missing[0]
            names_missing = ", ".join(sorted({p.name for p in self.missing}))
            raise_at(
                f"Cannot run the query: missing required parameters: {names_missing} (give a value, or put "
                "the tag inside an optional clause [[ … ]] so no value means all)",
                first.start,
                first.end - first.start,
            )
        built = self.out.build()
        return MetabaseExpansion(built.text, built.segments, built._starts, pieces=tuple(self.pieces))

    def _emit(self, parts: Sequence[Part]) -> None:
        for part in parts:
            if isinstance(part, tuple):
                self._copy(*part)
            elif isinstance(part, Param):
                self._param(part)
            elif all(self.values.get(p.name) is not None for p in part.params()):
                self._emit(part.parts)

    def _copy(self, start: int, end: int) -> None:
        if end > start:
            self.out.copy(start, end)
            self.pieces.append((self.sql[start:end], False, ()))

    def _param(self, param: Param) -> None:
        values = self.values.get(param.name)
        if values is None:
            self.missing.append(param)
            return
        variable = self.context.variables[param.name]
        tag_type, _ = _settings(variable)
        if len(values) > 1 and not getattr(variable, "multi", False):
            raise_at(
                f"{{{{{param.name}}}}} takes one value, got {len(values)}",
                param.start,
                param.end - param.start,
            )
        try:
            value = _render_values(values, tag_type, param.name)
        except ValueError as exc:
            raise_at(str(exc), param.start, param.end - param.start)
        self.out.emit(value.literal, param.start, param.end)
        self.pieces.append((value.literal, True, value.params))


@register
class Metabase(Dialect):
    """Metabase native queries on PostgreSQL (Supabase, Chatwoot)."""

    name = "metabase"
    target = "metabase"
    engine = "postgres"

    @property
    def jinja_options(self) -> Mapping[str, object]:  # type: ignore[override]
        return {"undefined": _tag_undefined()}

    def expand(self, sql: str, context: ExpandContext) -> MetabaseExpansion:
        return _Substitution(sql, context).run(parse_template(sql))

    def referenced_variables(self, sql: str, variables: Iterable[str]) -> set[str]:
        names = set(variables)
        try:
            return {p.name for p in iter_params(parse_template(sql))} & names
        except Exception:  # noqa: BLE001 - a malformed template is reported by expand()
            return super().referenced_variables(sql, names)


_UNDEFINED: list[type] = []


def _tag_undefined() -> type:
    """A Jinja ``Undefined`` that prints ``{{name}}`` back: Metabase tags pass through Jinja untouched,
    while anything else undefined (an attribute, a call, a filter) is still an error."""
    if not _UNDEFINED:
        import jinja2

        class MetabaseTag(jinja2.StrictUndefined):
            __slots__ = ()

            def __str__(self) -> str:
                if self._undefined_obj is not jinja2.utils.missing or self._undefined_name is None:
                    return super().__str__()
                return "{{" + self._undefined_name + "}}"

        _UNDEFINED.append(MetabaseTag)
    return _UNDEFINED[0]
