"""What every SQL dialect shares: the expansion context, source-mapped text building, the SQL scanner, and
the registry of dialects by name.

A *dialect* here is "how one target's datasource turns the SQL of a panel into the SQL the database
runs": Grafana's ClickHouse plugin (``clickhouse``), Grafana's PostgreSQL datasource
(``grafana_postgres``), Metabase native queries (``metabase``). Each lives in its own module and registers
itself with :func:`register`; :func:`dialect_for` picks one from a dashboard's target and a datasource's
engine.
"""

from __future__ import annotations

import bisect
import importlib
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar

from smarter_obs.dashboards.errors import QuerySyntaxError, UnknownObjectError, did_you_mean

if TYPE_CHECKING:
    from smarter_obs.dashboards.model import Choice, Dashboard, Variable
    from smarter_obs.dashboards.timerange import Interval, TimeRange

__all__ = [
    "DIALECTS",
    "Dialect",
    "ExpandContext",
    "Expansion",
    "TextBuilder",
    "MappedExpansion",
    "chain",
    "dialect_for",
    "get_dialect",
    "protected_spans",
    "register",
    "run_stages",
]


@dataclass(frozen=True)
class ExpandContext:
    """Everything an expansion depends on: the range, the interval, the variables and their selection.

    ``values[name]`` is the selected values of a variable as a tuple (``(ALL,)`` for All, ``()`` for no
    value). ``options[name]`` is its option list, used where All expands to every value. ``strict``
    (validation) turns what the real datasource would silently leave alone (an unknown ``$variable``) into
    an error. ``explicit_range`` says the range was given (``--from``/``--to``) rather than defaulted:
    Metabase fills its date-range filter from it only then.
    """

    time_range: TimeRange
    interval: Interval
    variables: Mapping[str, Variable] = field(default_factory=dict)
    values: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    options: Mapping[str, tuple[Choice, ...]] = field(default_factory=dict)
    dashboard: Dashboard | None = None
    strict: bool = False
    explicit_range: bool = False


@dataclass(frozen=True)
class Expansion:
    """Expanded text plus where each part came from in the input.

    ``segments`` are ``(out_start, out_end, in_start, in_end)``; copied text maps character by character,
    generated text (a macro's expansion) maps to the start of what it replaced.
    """

    text: str
    segments: tuple[tuple[int, int, int, int], ...] = ()
    _starts: tuple[int, ...] = ()

    def statement(self) -> tuple[str, tuple]:
        """``(sql, parameters)`` to send: the text itself with no parameters, unless a dialect binds its
        values instead of writing them into the SQL (Metabase: ``%s`` placeholders, psycopg style)."""
        return self.text, ()

    def origin(self, offset: int) -> int:
        """The input offset the output character at ``offset`` came from."""
        if not self.segments:
            return offset
        index = bisect.bisect_right(self._starts, offset) - 1
        if index < 0:
            return 0
        out_start, out_end, in_start, in_end = self.segments[index]
        if in_end - in_start == out_end - out_start:  # copied verbatim
            return in_start + min(offset - out_start, max(in_end - in_start - 1, 0))
        return in_start


class TextBuilder:
    """Builds an output string from copied input ranges and generated replacements, keeping a source map."""

    def __init__(self, source: str) -> None:
        self.source = source
        self._parts: list[str] = []
        self._segments: list[tuple[int, int, int, int]] = []
        self._length = 0

    def copy(self, start: int, end: int) -> None:
        if end > start:
            self._add(self.source[start:end], start, end)

    def emit(self, text: str, start: int, end: int) -> None:
        """``text`` replaces ``source[start:end]``."""
        self._add(text, start, end if end > start else start + 1)

    def _add(self, text: str, start: int, end: int) -> None:
        if not text:
            return
        self._segments.append((self._length, self._length + len(text), start, end))
        self._parts.append(text)
        self._length += len(text)

    def build(self) -> Expansion:
        return Expansion("".join(self._parts), tuple(self._segments), tuple(s[0] for s in self._segments))


def chain(*maps: Callable[[int], int]) -> Callable[[int], int]:
    """Compose origin maps, last stage first: ``chain(stage1.origin, stage2.origin)(offset_in_stage2)``."""

    def origin(offset: int) -> int:
        for mapping in reversed(maps):
            offset = mapping(offset)
        return offset

    return origin


class MappedExpansion(Expansion):
    """An expansion whose origin map is a function (e.g. several stages composed with :func:`chain`)."""

    def __init__(self, text: str, origin: Callable[[int], int]) -> None:
        object.__setattr__(self, "text", text)
        object.__setattr__(self, "segments", ())
        object.__setattr__(self, "_starts", ())
        object.__setattr__(self, "_origin", origin)

    def origin(self, offset: int) -> int:
        return self._origin(offset)


def run_stages(sql: str, stages: Iterable[Callable[[str], Expansion]]) -> Expansion:
    """Apply text stages in order; the result maps back to ``sql``. A QuerySyntaxError raised by a stage
    has its offset moved back to ``sql`` too."""
    origins: list[Callable[[int], int]] = []
    text = sql
    for stage in stages:
        try:
            expansion = stage(text)
        except QuerySyntaxError as exc:
            if exc.offset is not None and origins:
                exc.offset = chain(*origins)(exc.offset)
            raise
        origins.append(expansion.origin)
        text = expansion.text
    return MappedExpansion(text, chain(*origins)) if origins else Expansion(text)


# -- scanning ---------------------------------------------------------------------------------------------

_DOLLAR_QUOTE = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)?\$")


def protected_spans(sql: str, *, backticks: bool = True, double_quotes: bool = True) -> list[tuple[int, int]]:
    """``(start, end)`` of every comment, string literal, quoted identifier and ``$tag$`` quote in ``sql``."""
    spans: list[tuple[int, int]] = []
    i, n = 0, len(sql)
    while i < n:
        c = sql[i]
        if c == "-" and sql.startswith("--", i):
            end = sql.find("\n", i)
            end = n if end < 0 else end
        elif c == "/" and sql.startswith("/*", i):
            end = sql.find("*/", i + 2)
            end = n if end < 0 else end + 2
        elif c == "'" or (c == '"' and double_quotes) or (c == "`" and backticks):
            end = i + 1
            while end < n:
                if sql[end] == "\\":
                    end += 2
                    continue
                if sql[end] == c:
                    if end + 1 < n and sql[end + 1] == c:  # doubled quote
                        end += 2
                        continue
                    end += 1
                    break
                end += 1
        elif c == "$":
            match = _DOLLAR_QUOTE.match(sql, i)
            if match and not sql.startswith("$__", i):
                close = sql.find(match.group(0), match.end())
                end = n if close < 0 else close + len(match.group(0))
            else:
                i += 1
                continue
        else:
            i += 1
            continue
        spans.append((i, min(end, n)))
        i = max(end, i + 1)
    return spans


def in_spans(offset: int, spans: list[tuple[int, int]]) -> bool:
    index = bisect.bisect_right(spans, (offset, float("inf"))) - 1
    return index >= 0 and spans[index][0] <= offset < spans[index][1]


def matching_paren(sql: str, open_index: int) -> int:
    """Index of the ``)`` closing the ``(`` at ``open_index`` (strings and comments skipped), or -1."""
    depth = 0
    spans = protected_spans(sql[open_index:])
    i = open_index
    skip = iter(spans)
    next_span = next(skip, None)
    while i < len(sql):
        if next_span and i - open_index == next_span[0]:
            i = open_index + next_span[1]
            next_span = next(skip, None)
            continue
        c = sql[i]
        if c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    return -1


def split_arguments(text: str) -> list[tuple[int, int]]:
    """``(start, end)`` of each top-level comma-separated argument of ``text`` (untrimmed)."""
    parts: list[tuple[int, int]] = []
    depth, start = 0, 0
    spans = protected_spans(text)
    for i, c in enumerate(text):
        if in_spans(i, spans):
            continue
        if c in "([":
            depth += 1
        elif c in ")]":
            depth -= 1
        elif c == "," and depth == 0:
            parts.append((start, i))
            start = i + 1
    parts.append((start, len(text)))
    return parts


# -- dialects ---------------------------------------------------------------------------------------------


class Dialect:
    """How one target's datasource expands a panel's SQL. Subclasses set the class attributes and
    implement :meth:`expand`; :func:`register` makes them findable by name."""

    #: Registry name (``clickhouse``, ``grafana_postgres``, ``metabase``).
    name: ClassVar[str] = ""
    #: The target whose datasource this mirrors (``grafana`` | ``metabase``).
    target: ClassVar[str] = ""
    #: The engine: sqlglot ``read`` dialect and the driver that runs it (``clickhouse`` | ``postgres``).
    engine: ClassVar[str] = ""
    #: Extra ``jinja2.Environment`` options (e.g. other delimiters where the SQL itself uses ``{{ }}``).
    jinja_options: ClassVar[Mapping[str, object]] = {}

    def expand(self, sql: str, context: ExpandContext) -> Expansion:
        """The SQL the database runs for this context. Raises QuerySyntaxError with an input offset."""
        raise NotImplementedError

    def referenced_variables(self, sql: str, variables: Iterable[str]) -> set[str]:
        """Which of ``variables`` the SQL mentions (to enumerate validation branches)."""
        names = set(variables)
        found = set()
        for match in re.finditer(r"\$\{?(\w+)|\[\[(\w+)|\{\{\s*(\w+)", sql):
            name = match.group(1) or match.group(2) or match.group(3)
            if name in names:
                found.add(name)
        return found


DIALECTS: dict[str, type[Dialect]] = {}
#: Dialect modules, imported on first lookup (sqlglot-style lazy loading).
_MODULES = {
    "clickhouse": "smarter_obs.dashboards.sql.clickhouse",
    "grafana_postgres": "smarter_obs.dashboards.sql.grafana_postgres",
    "metabase": "smarter_obs.dashboards.sql.metabase",
}
#: (target, engine) → dialect name.
_BY_TARGET = {
    ("grafana", "clickhouse"): "clickhouse",
    ("grafana", "postgres"): "grafana_postgres",
    ("metabase", "postgres"): "metabase",
}


def register(cls: type[Dialect]) -> type[Dialect]:
    """Class decorator: register a dialect under ``cls.name`` for ``(cls.target, cls.engine)``."""
    DIALECTS[cls.name] = cls
    _BY_TARGET[(cls.target, cls.engine)] = cls.name
    return cls


def get_dialect(name: str) -> Dialect:
    """An instance of the dialect registered as ``name``; UnknownObjectError with a suggestion otherwise."""
    if name not in DIALECTS and name in _MODULES:
        try:
            importlib.import_module(_MODULES[name])
        except ModuleNotFoundError as exc:
            if exc.name != _MODULES[name]:
                raise
    try:
        return DIALECTS[name]()
    except KeyError:
        raise UnknownObjectError(
            f"unknown SQL dialect {name!r}" + did_you_mean(name, set(DIALECTS) | set(_MODULES))
        ) from None


def dialect_for(target: str, engine: str) -> Dialect:
    """The dialect of ``target`` (``grafana``/``metabase``) on an ``engine`` (``clickhouse``/``postgres``)."""
    name = _BY_TARGET.get((target, engine))
    if name is None:
        raise UnknownObjectError(f"target {target!r} cannot read a {engine} datasource")
    return get_dialect(name)


def raise_at(message: str, offset: int, length: int = 0) -> None:
    raise QuerySyntaxError(message, offset=offset, length=length)
