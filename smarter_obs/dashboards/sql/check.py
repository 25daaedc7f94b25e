"""Parse expanded SQL with sqlglot in the engine's dialect and check every table and column against a schema.

Name resolution follows the engines: a column must belong to a table (or subquery, CTE) in its scope or be
an alias defined in that query (ClickHouse lets any clause use a ``SELECT`` alias; ``ARRAY JOIN … AS x``
aliases count too); lambda parameters are not columns. ``SETTINGS`` names are not columns.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from smarter_obs.dashboards.errors import did_you_mean
from smarter_obs.dashboards.sql.schema import Schema

__all__ = ["Problem", "check_sql"]


@dataclass(frozen=True)
class Problem:
    """A problem in the expanded SQL at ``[start, end)`` (offsets in that text)."""

    message: str
    start: int
    end: int


def _offset(sql: str, line: int, column: int) -> int:
    lines = sql.split("\n")
    line = max(1, min(line, len(lines)))
    return sum(len(text) + 1 for text in lines[: line - 1]) + max(column, 0)


def _parse_problem(sql: str, exc: Exception) -> Problem:
    import sqlglot

    if isinstance(exc, sqlglot.errors.ParseError) and exc.errors:
        error = exc.errors[0]
        highlight = error.get("highlight") or ""
        end = _offset(sql, error.get("line") or 1, error.get("col") or 0)
        start = max(end - len(highlight), 0)
        near = f" near {highlight!r}" if highlight else ""
        return Problem(f"syntax error{near}: {error.get('description')}", start, end)
    text = str(exc)
    match = re.search(r"Error tokenizing '(.*)'", text, re.DOTALL)
    if match:
        context = match.group(1)
        index = sql.find(context)
        start = index + len(context) if index >= 0 else 0
        quote = next((c for c in reversed(context) if c in "'\"`"), None)
        if quote is not None and index >= 0:
            start = index + context.rfind(quote)
        return Problem("syntax error: unterminated string, identifier or comment", start, start + 1)
    return Problem(f"syntax error: {text.splitlines()[0] if text else type(exc).__name__}", 0, 0)


def _meta_span(node) -> tuple[int, int]:
    meta = getattr(node, "meta", None) or {}
    if "start" in meta:
        return meta["start"], meta["end"] + 1
    for child in node.walk():
        meta = getattr(child, "meta", None) or {}
        if "start" in meta:
            return meta["start"], meta["end"] + 1
    return 0, 0


def _local_aliases(expression) -> set[str]:
    """Aliases defined in this query level (SELECT list, ARRAY JOIN, WITH <expr> AS name)."""
    from sqlglot import exp

    names: set[str] = set()
    for node in expression.walk(
        prune=lambda n: n is not expression and isinstance(n, (exp.Subquery, exp.Query))
    ):
        if isinstance(node, exp.Alias) and node.alias:
            names.add(node.alias)
    with_ = expression.args.get("with_") or expression.args.get("with")
    if with_ is not None:
        for cte in with_.expressions:
            if not isinstance(cte.this, exp.Query) and cte.alias:
                names.add(cte.alias)
    return names


def _source_columns(source, schema: Schema) -> set[str] | None:
    """Columns of a scope source; None = unknown (accept any)."""
    from sqlglot import exp
    from sqlglot.optimizer.scope import Scope

    if isinstance(source, exp.Table):
        columns = schema.columns(source.name)
        return set(columns) if columns is not None else None
    if isinstance(source, Scope):
        selects = getattr(source.expression, "selects", None)
        if not selects or any(isinstance(s, exp.Star) or s.is_star for s in selects):
            return None
        return {s.alias_or_name for s in selects}
    return None


def check_sql(sql: str, engine: str, schema: Schema) -> list[Problem]:
    """Problems in ``sql`` (one statement, a query): syntax first, then unknown tables and columns."""
    import sqlglot
    from sqlglot import exp
    from sqlglot.optimizer.scope import traverse_scope

    try:
        statements = [s for s in sqlglot.parse(sql, read=engine) if s is not None]
    except sqlglot.errors.SqlglotError as exc:
        return [_parse_problem(sql, exc)]
    if len(statements) != 1:
        return [Problem(f"a panel query must be one statement, found {len(statements)}", 0, 0)]
    expression = statements[0]
    if not isinstance(expression, exp.Query):
        start, end = _meta_span(expression)
        return [Problem(f"a panel query must be a SELECT, not {expression.key.upper()}", start, end)]
    for node in list(expression.walk()):  # the tree is ours (just parsed): no copy needed
        if isinstance(node, exp.Query) and node.args.get("settings"):
            node.set("settings", None)
    problems: list[Problem] = []
    ctes = {cte.alias for cte in expression.find_all(exp.CTE)}
    for table in expression.find_all(exp.Table):
        if (
            isinstance(table.this, exp.Identifier)
            and table.name not in ctes
            and schema.columns(table.name) is None
        ):
            start, end = _meta_span(table)
            message = f"unknown table {table.name}" + did_you_mean(table.name, schema.tables)
            problems.append(Problem(message, start, end))
    if problems:
        return problems
    try:
        scopes = traverse_scope(expression)
    except sqlglot.errors.SqlglotError as exc:
        return [Problem(f"cannot resolve the query's names: {exc}", 0, 0)]
    for scope in scopes:
        problems.extend(_check_scope(scope, schema))
        if engine == "clickhouse":
            problems.extend(_shadowing_aliases(scope))
    return problems


def _shadowing_aliases(scope) -> list[Problem]:
    """ClickHouse resolves a SELECT alias before a column of the same name, also in WHERE: an aggregate
    aliased like a column it filters on (``sum(lag) AS lag … WHERE lag > 0``) is rejected by the server."""
    from sqlglot import exp

    select = scope.expression
    if not isinstance(select, exp.Select):
        return []
    aggregates = {
        e.alias: e
        for e in select.expressions
        if isinstance(e, exp.Alias) and e.this.find(exp.AggFunc) is not None
    }
    problems = []
    for clause in ("where", "prewhere"):
        node = select.args.get(clause)
        if node is None:
            continue
        for column in node.find_all(exp.Column):
            if not column.table and column.name in aggregates:
                start, end = _meta_span(column.this)
                problems.append(
                    Problem(
                        f"{column.name} in {clause.upper()} is the aggregate alias "
                        f"'{aggregates[column.name].this.sql('clickhouse')} AS {column.name}', not the "
                        "column (ClickHouse resolves aliases first and rejects it): rename the alias",
                        start,
                        end,
                    )
                )
    return problems


def _check_scope(scope, schema: Schema) -> list[Problem]:
    from sqlglot import exp

    problems: list[Problem] = []
    sources = {name: _source_columns(source, schema) for name, source in scope.sources.items()}
    unknown_source = any(columns is None for columns in sources.values())
    every = set().union(*(c for c in sources.values() if c is not None)) if sources else set()
    aliases = _local_aliases(scope.expression)
    outer = scope.parent
    while outer is not None:  # correlated subqueries see the outer query's names
        for name, source in outer.sources.items():
            columns = _source_columns(source, schema)
            if columns is not None:
                every |= columns
            sources.setdefault(name, columns)
        aliases |= _local_aliases(outer.expression)
        outer = outer.parent
    for column in scope.columns:
        if column.find_ancestor(exp.Select) is not scope.expression:
            continue  # inside a subquery (e.g. IN (SELECT …)): checked in that subquery's own scope
        name, table = column.name, column.table
        start, end = _meta_span(column.this)
        if table:
            if table in sources:
                columns = sources[table]
                if columns is not None and name not in columns:
                    problems.append(
                        Problem(f"unknown column {table}.{name}" + did_you_mean(name, columns), start, end)
                    )
            elif any(f"{table}.{name}" in (c or ()) for c in sources.values()) or unknown_source:
                continue  # a Nested sub-column (Events.Name)
            else:
                problems.append(
                    Problem(
                        f"unknown table or alias {table} (in {table}.{name})" + did_you_mean(table, sources),
                        start,
                        end,
                    )
                )
        elif name not in every and name not in aliases and not unknown_source:
            problems.append(
                Problem(f"unknown column {name}" + did_you_mean(name, every | aliases), start, end)
            )
    return problems
