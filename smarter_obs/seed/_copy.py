"""COPY rows (NamedTuples whose fields are the column names) into a table, in one transaction per call."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple


def copy_rows(
    conn: Any, table: str, rows: Sequence[NamedTuple], *, columns: Iterable[str] | None = None
) -> int:
    """``COPY table (columns) FROM STDIN`` of ``rows``; returns the number written. ``conn`` is psycopg 3."""
    from psycopg import sql

    if not rows:
        return 0
    names = tuple(columns) if columns is not None else type(rows[0])._fields
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(table), sql.SQL(", ").join(sql.Identifier(n) for n in names)
    )
    pick = None if columns is None else [type(rows[0])._fields.index(n) for n in names]
    with conn.cursor() as cur, cur.copy(statement) as copy:
        for row in rows:
            copy.write_row(row if pick is None else [row[i] for i in pick])
    return len(rows)
