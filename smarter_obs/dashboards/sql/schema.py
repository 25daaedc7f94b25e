"""The tables and columns a datasource has, read from the project's ``provisioning/`` DDL.

``provisioning/clickhouse/*.sql`` are rendered with their Jinja (as ``db migrate`` does); the PostgreSQL
folders (``provisioning/postgres``, ``provisioning/chatwoot``) are plain SQL. Every ``CREATE TABLE`` and
``CREATE [MATERIALIZED] VIEW`` contributes a table; ``ALTER TABLE … ADD COLUMN`` adds columns. ClickHouse
``Nested`` columns are also listed as ``Events.Name`` etc. The result is cached per folder until a file
changes.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from pathlib import Path

from smarter_obs.dashboards.errors import DashboardError

__all__ = ["Schema", "load_schema", "split_statements"]

_CREATE_RE = re.compile(
    r"^\s*CREATE\s+(?:OR\s+REPLACE\s+)?(?:TEMPORARY\s+)?(?:UNLOGGED\s+)?(?:MATERIALIZED\s+)?(TABLE|VIEW)\b",
    re.IGNORECASE,
)
_ALTER_RE = re.compile(r"^\s*ALTER\s+TABLE\b", re.IGNORECASE)


@dataclass
class Schema:
    """``tables[name] = {column: type}`` (names without their database/schema)."""

    tables: dict[str, dict[str, str]] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)  # table → file that defines it

    def columns(self, table: str) -> dict[str, str] | None:
        return self.tables.get(table)


def split_statements(text: str) -> list[str]:
    """Statements of a SQL script split at top-level ``;`` (strings, comments and ``$$`` bodies respected)."""
    from smarter_obs.dashboards.sql._base import protected_spans

    spans = protected_spans(text, backticks=True)
    statements, start, index = [], 0, 0
    span_iter = iter(spans)
    current = next(span_iter, None)
    while index < len(text):
        if current and index == current[0]:
            index = current[1]
            current = next(span_iter, None)
            continue
        if text[index] == ";":
            statements.append(text[start:index])
            start = index + 1
        index += 1
    statements.append(text[start:])
    return [s for s in (_strip_comments(s) for s in statements) if s.strip()]


def _strip_comments(statement: str) -> str:
    lines = [line for line in statement.splitlines() if not line.lstrip().startswith("--")]
    return "\n".join(lines).strip()


_TABLE_HEAD_RE = re.compile(
    r"CREATE\s+(?:OR\s+REPLACE\s+)?(?:TEMPORARY\s+)?(?:UNLOGGED\s+)?TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?"
    r"(?P<name>(?:[`\"][^`\"]+[`\"]|[\w$]+)(?:\.(?:[`\"][^`\"]+[`\"]|[\w$]+))*)",
    re.IGNORECASE,
)
_NOT_A_COLUMN_RE = re.compile(
    r"^(INDEX|PROJECTION|CONSTRAINT|PRIMARY\s+KEY|UNIQUE|FOREIGN\s+KEY|CHECK|EXCLUDE|LIKE)\b", re.IGNORECASE
)
_TYPE_END_RE = re.compile(
    r"\s+(CODEC|DEFAULT|MATERIALIZED|ALIAS|EPHEMERAL|NOT|NULL|PRIMARY|REFERENCES|CHECK|COMMENT|TTL|CONSTRAINT|"
    r"UNIQUE|GENERATED|COLLATE|SETTINGS)\b",
    re.IGNORECASE,
)
_IDENT_RE = re.compile(r'^\s*(`[^`]+`|"[^"]+"|[\w$]+)\s*(.*)$', re.DOTALL)


def _unquote(name: str) -> str:
    return name[1:-1] if name[:1] in '`"' and name[-1:] == name[:1] else name


def _columns(body: str) -> dict[str, str]:
    """Columns of a ``CREATE TABLE (…)`` body (ClickHouse or PostgreSQL), Nested sub-columns included."""
    from smarter_obs.dashboards.sql._base import matching_paren, split_arguments

    columns: dict[str, str] = {}
    for start, end in split_arguments(body):
        item = body[start:end].strip()
        if not item or _NOT_A_COLUMN_RE.match(item):
            continue
        match = _IDENT_RE.match(item)
        if not match:
            continue
        name, rest = _unquote(match.group(1)), match.group(2).strip()
        type_end = _TYPE_END_RE.search(" " + rest)
        type_text = (rest[: type_end.start() - 1] if type_end else rest).strip() if rest else ""
        columns[name] = type_text
        if type_text.lower().startswith("nested"):
            open_paren = type_text.find("(")
            close = matching_paren(type_text, open_paren) if open_paren >= 0 else -1
            if close > 0:
                for sub, sub_type in _columns(type_text[open_paren + 1 : close]).items():
                    columns[f"{name}.{sub}"] = f"Array({sub_type})"
    return columns


def _add_create(schema: Schema, statement: str, engine: str, path: Path) -> None:
    from smarter_obs.dashboards.sql._base import matching_paren

    head = _TABLE_HEAD_RE.match(statement)
    if head:
        name = _unquote(re.split(r"\.(?=(?:[^`\"]*[`\"][^`\"]*[`\"])*[^`\"]*$)", head.group("name"))[-1])
        open_paren = statement.find("(", head.end())
        close = matching_paren(statement, open_paren) if open_paren >= 0 else -1
        between = statement[head.end() : open_paren] if open_paren >= 0 else ""
        if close > 0 and not re.search(r"\bAS\b", between, re.IGNORECASE):
            schema.tables[name] = _columns(statement[open_paren + 1 : close])
            schema.sources[name] = str(path)
            return
    _add_parsed(schema, statement, engine, path)


_VIEW_RE = re.compile(
    r"^\s*CREATE\s+(?:OR\s+REPLACE\s+)?(?P<materialized>MATERIALIZED\s+)?VIEW\s+(?:IF\s+NOT\s+EXISTS\s+)?"
    r"(?P<name>\S+?)(?:\s+ON\s+CLUSTER\s+\S+)?(?P<to>\s+TO\s+\S+)?\s+AS\s+SELECT\s+(?P<rest>.*)$",
    re.IGNORECASE | re.DOTALL,
)
_ALIAS_RE = re.compile(r"\bAS\s+(`[^`]+`|\"[^\"]+\"|\w+)\s*$", re.IGNORECASE)
_PLAIN_RE = re.compile(r"^(?:[`\"]?\w+[`\"]?\.)?([`\"]?\w+[`\"]?)$")
_FROM_RE = re.compile(r"\bFROM\b", re.IGNORECASE)


def _view_columns(statement: str) -> tuple[str, dict[str, str]] | None:
    """A view's name and output columns, read from its SELECT list without a full parse; ``None`` when
    the list is not plain ``expr AS name`` / ``column`` items (then sqlglot reads it)."""
    from smarter_obs.dashboards.sql._base import protected_spans, split_arguments

    match = _VIEW_RE.match(statement)
    if not match:
        return None
    rest = match.group("rest")
    spans = protected_spans(rest)
    depth, end = 0, None
    for index, char in enumerate(rest):
        if any(a <= index < b for a, b in spans):
            continue
        depth += char == "("
        depth -= char == ")"
        if depth == 0 and _FROM_RE.match(rest, index) and (index == 0 or not rest[index - 1].isalnum()):
            end = index
            break
    if end is None:
        return None
    columns: dict[str, str] = {}
    for start, stop in split_arguments(rest[:end]):
        item = rest[start:stop].strip()
        alias = _ALIAS_RE.search(item) or _PLAIN_RE.match(item)
        if not alias or item == "*":
            return None
        columns[_unquote(alias.group(1))] = ""
    return _unquote(match.group("name").split(".")[-1]), columns


def _add_parsed(schema: Schema, statement: str, engine: str, path: Path) -> None:
    """Views (and ``CREATE TABLE … AS SELECT``): the output names of their query. A materialized view
    writing ``TO`` another table is not queried by name and adds nothing."""
    view = _VIEW_RE.match(statement)
    if view and view.group("to"):
        return
    quick = _view_columns(statement)
    if quick is not None:
        schema.tables[quick[0]] = quick[1]
        schema.sources[quick[0]] = str(path)
        return
    import sqlglot
    from sqlglot import exp

    try:
        expression = sqlglot.parse_one(statement, read=engine)
    except sqlglot.errors.SqlglotError as exc:
        raise DashboardError(f"{path}: cannot read this DDL statement for validation: {exc}") from None
    target = expression.this
    if isinstance(target, exp.Schema):
        target = target.this
    query = expression.expression
    if isinstance(target, exp.Table) and isinstance(query, exp.Query):
        selects = query.selects
        if any(isinstance(s, exp.Star) for s in selects):
            return
        schema.tables[target.name] = {s.alias_or_name: "" for s in selects}
        schema.sources[target.name] = str(path)


def _add_alter(schema: Schema, statement: str, engine: str) -> None:
    if not re.search(r"\bADD\b", statement, re.IGNORECASE):
        return  # only added columns matter (and sqlglot warns on e.g. ENABLE ROW LEVEL SECURITY)
    import sqlglot
    from sqlglot import exp

    try:
        expression = sqlglot.parse_one(statement, read=engine)
    except sqlglot.errors.SqlglotError:
        return
    if not isinstance(expression, exp.Alter):
        return
    table = expression.this.name
    for action in expression.args.get("actions") or []:
        if isinstance(action, exp.ColumnDef):
            kind = action.args.get("kind")
            schema.tables.setdefault(table, {})[action.name] = kind.sql(engine) if kind is not None else ""


def _read_folder(folder: Path, engine: str) -> Schema:
    schema = Schema()
    files = sorted(folder.glob("*.sql"))
    texts: list[tuple[Path, str]]
    if engine == "clickhouse":
        from smarter_obs.db.clickhouse import render_template

        texts = [
            (
                path,
                render_template(path.read_text(encoding="utf-8"), database="otel", ttl_days=30, cluster=None),
            )
            for path in files
        ]
    else:
        texts = [(path, path.read_text(encoding="utf-8")) for path in files]
    for path, text in texts:
        for statement in split_statements(text):
            if _CREATE_RE.match(statement):
                _add_create(schema, statement, engine, path)
            elif _ALTER_RE.match(statement):
                _add_alter(schema, statement, engine)
    return schema


_cache: dict[tuple[str, str], tuple[tuple[tuple[str, float], ...], Schema]] = {}
_cache_lock = threading.Lock()


def load_schema(folder: Path, engine: str) -> Schema:
    """The schema of the DDL in ``folder`` (cached until a file in it changes)."""
    if not folder.is_dir():
        raise DashboardError(
            f"no DDL folder {folder}: the queries of this datasource are validated against it "
            "(add its CREATE TABLE statements there)"
        )
    stamp = tuple((p.name, p.stat().st_mtime) for p in sorted(folder.glob("*.sql")))
    key = (str(folder), engine)
    with _cache_lock:
        cached = _cache.get(key)
        if cached and cached[0] == stamp:
            return cached[1]
    schema = _read_folder(folder, engine)
    with _cache_lock:
        _cache[key] = (stamp, schema)
    return schema
