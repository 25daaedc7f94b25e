"""Independent computations for the panel tests: buckets as Grafana's interval defines them, quantiles with
a tolerance for ClickHouse's t-digest, and the result shape each panel kind needs."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from decimal import Decimal

import numpy as np


def epoch(t: datetime) -> float:
    return t.timestamp()


def bucket(t: datetime, seconds: int) -> datetime:
    """toStartOfInterval(t, INTERVAL seconds second) / floor(epoch / s) * s."""
    return datetime.fromtimestamp(math.floor(t.timestamp() / seconds) * seconds, UTC)


def as_utc(value) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, (int, float, Decimal)):
        return datetime.fromtimestamp(float(value), UTC)
    raise TypeError(f"not a time: {value!r}")


def rows_by(result, *keys: str) -> dict:
    """``{(key values...): {column: value}}`` of a QueryResult."""
    index = {name: i for i, name in enumerate(result.columns)}
    out = {}
    for row in result.rows:
        key = tuple(row[index[k]] for k in keys)
        key = tuple(as_utc(v) if k == "time" else v for k, v in zip(keys, key, strict=True))
        assert key not in out, f"duplicate row for {key}"
        out[key if len(key) > 1 else key[0]] = {name: row[i] for name, i in index.items()}
    return out


def within_quantile(values: Sequence[float], q: float, got: float, tolerance: float = 0.03) -> bool:
    """Whether ``got`` is a ``q``-quantile of ``values`` within a rank error of ``tolerance`` (+ 1/n),
    the accuracy ClickHouse's t-digest gives after merging per-minute states."""
    data = np.sort(np.asarray(values, dtype=float))
    slack = tolerance + 1.0 / len(data)
    lo = np.quantile(data, max(q - slack, 0.0))
    hi = np.quantile(data, min(q + slack, 1.0))
    return lo - 1e-6 * abs(lo) - 1e-9 <= got <= hi + 1e-6 * abs(hi) + 1e-9


def percentile_cont(values: Iterable[float], q: float) -> float:
    """PostgreSQL's percentile_cont (linear interpolation between closest ranks)."""
    return float(np.quantile(np.asarray(list(values), dtype=float), q))


def is_number(value) -> bool:
    return isinstance(value, (int, float, Decimal)) and not isinstance(value, bool)


def assert_shape(panel, result) -> None:
    """The result has what the panel kind draws: see smarter_obs.dashboards.model.KINDS."""
    columns = result.columns
    missing = [c for c in panel.columns if c not in columns]
    assert not missing, f"panel {panel.title!r} lacks columns {missing}: got {columns}"
    if panel.kind == "table":
        assert list(columns) == list(panel.columns), f"table {panel.title!r}: {columns} != {panel.columns}"
        return
    rows = result.rows
    if panel.kind == "timeseries":
        assert columns[0] == "time", f"time series {panel.title!r} must start with its time column"
        values = [c for c in panel.columns if c != "time"]
        for row in rows:
            as_utc(row[0])
            record = dict(zip(columns, row, strict=True))
            numeric = [c for c in values if is_number(record[c]) or record[c] is None]
            labels = [c for c in values if isinstance(record[c], str)]
            assert numeric, f"{panel.title!r}: no numeric series in {record}"
            assert len(numeric) + len(labels) == len(values), f"{panel.title!r}: odd values in {record}"
        assert [as_utc(r[0]) for r in rows] == sorted(as_utc(r[0]) for r in rows), "time series not ordered"
    elif panel.kind in ("stat", "gauge"):
        assert len(rows) == 1, f"stat {panel.title!r} needs one row, got {len(rows)}"
        record = dict(zip(columns, rows[0], strict=True))
        for column in panel.columns:
            assert record[column] is None or is_number(record[column]), (
                f"{panel.title!r}: {column}={record[column]!r}"
            )
    elif panel.kind in ("barchart", "piechart", "bargauge"):
        category, *values = panel.columns
        for row in rows:
            record = dict(zip(columns, row, strict=True))
            assert isinstance(record[category], str), f"{panel.title!r}: category {record[category]!r}"
            assert all(is_number(record[v]) for v in values), f"{panel.title!r}: values {record}"
