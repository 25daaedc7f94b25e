"""``SpanColumns`` → ``pyarrow.Table`` in the ``otel_traces`` layout (the exporter's and receiver's insert format).

Why Arrow: ClickHouse parses an Arrow block with less work than the same block in Native format, and
pyarrow builds each column from a Python list in one C++ pass, where clickhouse-connect's Native writer
spends several microseconds of Python per span. Low-cardinality columns travel dictionary-encoded, which
ClickHouse turns into ``LowCardinality`` without hashing every value; the resource and scope columns are
dictionary indices built from their runs, never from per-row Python objects. Rows are put in the table's
sorting-key order, so ClickHouse does not sort and permute the block again.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa

from smarter_obs.sinks.otel_traces import COLUMNS, SPAN_KINDS, STATUS_CODES, _strings

if TYPE_CHECKING:
    from smarter_obs.sinks.otel_traces import SpanColumns

__all__ = ["span_table"]

_STRING = pa.string()
_TIMESTAMP = pa.timestamp("ns", tz="UTC")


@cache
def _enum_dictionary(values: tuple[str, ...]) -> pa.Array:
    return pa.array(values, _STRING)


def _offsets(counts: Any) -> pa.Array:
    offsets = np.zeros(len(counts) + 1, dtype=np.int32)
    np.cumsum(counts, out=offsets[1:])
    return pa.array(offsets)


def _strings_or_none(values: list[str]) -> pa.Array | None:
    """A string column, or None when every value is ``''`` (the column default: it is left out of the insert)."""
    return pa.array(values, _STRING) if any(values) else None


def _string_values(values: list[Any]) -> pa.Array:
    """Attribute values as a string array; SDK values that are not strings are stringified first."""
    if values:
        # All-str lists convert directly; anything else (numbers, bools, sequences, bytes, which Arrow
        # would store as raw binary) takes the stringifying path.
        try:
            array = pa.array(values)
        except (pa.ArrowTypeError, pa.ArrowInvalid):
            pass
        else:
            if array.type == _STRING and not array.null_count:
                return array
    return pa.array(_strings(values), _STRING)


def _map(counts: Any, keys: list[str], values: list[Any]) -> pa.Array:
    # Keys travel dictionary-encoded: the columns' keys are LowCardinality, which ClickHouse then fills from
    # the dictionary instead of hashing every key of every row (measured: ~1 µs less insert work per span).
    return pa.MapArray.from_arrays(
        _offsets(counts), pa.array(keys, _STRING).dictionary_encode(), _string_values(values)
    )


def _unique_index(values: list[Any]) -> tuple[np.ndarray, list[Any]]:
    """Per value, its index among the distinct values (first-seen order); and the distinct values."""
    unique: dict[Any, int] = {}
    indices = [unique.setdefault(value, len(unique)) for value in values]
    return np.asarray(indices, dtype=np.int32), list(unique)


def _dictionary(per_run: list[str], run_of_row: np.ndarray) -> pa.DictionaryArray:
    """A dictionary-encoded column from one value per run (dictionary values must be unique)."""
    index, unique = _unique_index(per_run)
    return pa.DictionaryArray.from_arrays(pa.array(index[run_of_row]), pa.array(unique, _STRING))


def _resource_map(
    per_run: list[tuple[tuple[str, ...], tuple[str, ...], str]], run_of_row: np.ndarray
) -> pa.Array:
    """``ResourceAttributes``: each distinct resource's pairs stored once and referenced per row."""
    index, unique = _unique_index([(keys, values) for keys, values, _ in per_run])
    sizes = np.asarray([len(keys) for keys, _ in unique], dtype=np.int32)
    bases = np.zeros(len(unique), dtype=np.int64)
    np.cumsum(sizes[:-1], out=bases[1:])
    resource_of_row = index[run_of_row]
    counts = sizes[resource_of_row]
    offsets = _offsets(counts)
    starts = offsets.to_numpy()[:-1]
    # element i of row r is pair bases[r] + (i - starts[r])
    gather = np.arange(int(counts.sum()), dtype=np.int64) + np.repeat(bases[resource_of_row] - starts, counts)
    # Pairs as dictionary indices: no string is copied per row, and LowCardinality keys come for free.
    key_index, key_dictionary = _unique_index([key for keys, _ in unique for key in keys])
    value_index, value_dictionary = _unique_index([value for _, values in unique for value in values])
    keys = pa.DictionaryArray.from_arrays(pa.array(key_index[gather]), pa.array(key_dictionary, _STRING))
    values = pa.DictionaryArray.from_arrays(
        pa.array(value_index[gather]), pa.array(value_dictionary, _STRING)
    )
    return pa.MapArray.from_arrays(offsets, keys, values)


def _sparse_counts(entries: list[tuple[int, list]], rows: int) -> np.ndarray:
    counts = np.zeros(rows, dtype=np.int32)
    for row, items in entries:
        counts[row] = len(items)
    return counts


def _nested_maps(maps: list[dict[str, str]]) -> pa.Array:
    return _map([len(m) for m in maps], [k for m in maps for k in m], [v for m in maps for v in m.values()])


#: Nested sub-columns and the Arrow type of each field of the sparse entries (None: an attribute map).
_EVENT_FIELDS = (("Events.Timestamp", _TIMESTAMP), ("Events.Name", _STRING), ("Events.Attributes", None))
_LINK_FIELDS = (
    ("Links.TraceId", _STRING),
    ("Links.SpanId", _STRING),
    ("Links.TraceState", _STRING),
    ("Links.Attributes", None),
)


def _nested(
    entries: list[tuple[int, list[tuple]]], rows: int, fields: tuple[tuple[str, pa.DataType | None], ...]
) -> dict[str, pa.Array]:
    """The list columns of a Nested structure from sparse ``(row, [entry, ...])`` pairs."""
    offsets = _offsets(_sparse_counts(entries, rows))
    flat = [entry for _, items in entries for entry in items]
    return {
        name: pa.ListArray.from_arrays(
            offsets,
            _nested_maps([e[i] for e in flat]) if kind is None else pa.array([e[i] for e in flat], kind),
        )
        for i, (name, kind) in enumerate(fields)
    }


def span_table(block: SpanColumns) -> pa.Table:
    """The block as an Arrow table of ``otel_traces`` columns, rows in the table's sorting-key order.

    Columns whose every value is the column default (``ParentSpanId``, ``TraceState``, ``StatusMessage`` all
    ``''``; no events; no links) are left out: ClickHouse fills them for free.
    """
    runs = block._run_rows()
    run_of_row = np.repeat(np.arange(len(runs), dtype=np.int32), [run[0] for run in runs])
    services = [run[1][2] for run in runs]
    timestamps = pa.array(block.timestamps, _TIMESTAMP)
    names = pa.array(block.span_names, _STRING).dictionary_encode()
    order = _sorting_key_order(timestamps, names, services, run_of_row)
    rows = {
        "Timestamp": timestamps,
        "TraceId": pa.array(block.trace_ids, _STRING),
        "SpanId": pa.array(block.span_ids, _STRING),
        "ParentSpanId": _strings_or_none(block.parent_span_ids),
        "TraceState": _strings_or_none(block.trace_states),
        "SpanName": names,
        "SpanKind": pa.DictionaryArray.from_arrays(
            pa.array(block.kinds, pa.int8()), _enum_dictionary(SPAN_KINDS)
        ),
        "SpanAttributes": _map(block.attribute_counts, block.attribute_keys, block.attribute_values),
        "Duration": pa.array(block.durations, pa.uint64()),
        "StatusCode": pa.DictionaryArray.from_arrays(
            pa.array(block.status_codes, pa.int8()), _enum_dictionary(STATUS_CODES)
        ),
        "StatusMessage": _strings_or_none(block.status_messages),
    }
    rows = {name: column for name, column in rows.items() if column is not None}
    if block.events:
        rows.update(_nested(block.events, len(block), _EVENT_FIELDS))
    if block.links:
        rows.update(_nested(block.links, len(block), _LINK_FIELDS))
    if order is not None:
        rows = dict(zip(rows, pa.table(rows).take(pa.array(order)).columns))
        run_of_row = run_of_row[order]
    # Resource and scope columns are built after the sort, from the (sorted) run of each row: cheaper than
    # permuting a map column whose rows are all alike.
    rows["ServiceName"] = _dictionary(services, run_of_row)
    rows["ResourceAttributes"] = _resource_map([run[1] for run in runs], run_of_row)
    rows["ScopeName"] = _dictionary([run[2][0] for run in runs], run_of_row)
    rows["ScopeVersion"] = _dictionary([run[2][1] for run in runs], run_of_row)
    return pa.table({name: rows[name] for name in COLUMNS if name in rows})


def _ranks(values: np.ndarray) -> np.ndarray:
    """Rank of each value among ``values`` (string order is code point order = UTF-8 byte order, as ClickHouse's)."""
    rank = np.empty(len(values), dtype=np.int64)
    rank[np.argsort(values, kind="stable")] = np.arange(len(values))
    return rank


def _sorting_key_order(
    timestamps: pa.Array, names: pa.DictionaryArray, services: list[str], run_of_row: np.ndarray
) -> np.ndarray | None:
    """Row order of the table's sorting key ``(ServiceName, SpanName, Timestamp)``, None if already in it.

    ClickHouse skips its own sort (and the permutation of every column) for a block that already is in
    sorting-key order; sorting here on integer keys costs a fraction of that.
    """
    if len(run_of_row) < 2:
        return None
    name_rank = _ranks(names.dictionary.to_numpy(zero_copy_only=False))[names.indices.to_numpy()]
    index, unique = _unique_index(services)
    service_rank = _ranks(np.asarray(unique, dtype=object))[index][run_of_row]
    order = np.lexsort((timestamps.cast(pa.int64()).to_numpy(), name_rank, service_rank))
    return None if bool(np.all(order[1:] > order[:-1])) else order
