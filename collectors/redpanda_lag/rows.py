"""Typed rows of the four ClickHouse tables the lag collector writes (provisioning/clickhouse/001x).

One ``NamedTuple`` per table, fields in the table's column order: the collector builds them by name and the
sink inserts them as plain tuples (``COLUMNS`` of each table is its row's ``_fields``).
"""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

from smarter_obs.collectors.redpanda_lag.status import NOTFOUND

__all__ = [
    "CYCLE_COLUMNS",
    "CYCLE_TABLE",
    "GROUP_COLUMNS",
    "GROUP_TABLE",
    "LAG_COLUMNS",
    "LAG_TABLE",
    "PARTITION_COLUMNS",
    "PARTITION_TABLE",
    "CollectorCycleRow",
    "ConsumerGroupRow",
    "ConsumerLagRow",
    "PartitionOffsetRow",
]

PARTITION_TABLE = "kafka_partition_offsets"
LAG_TABLE = "kafka_consumer_lag"
GROUP_TABLE = "kafka_consumer_groups"
CYCLE_TABLE = "kafka_collector_cycles"


class PartitionOffsetRow(NamedTuple):
    """``kafka_partition_offsets``: one partition's offsets in one cycle."""

    ts: datetime
    cluster: str
    topic: str
    partition: int
    leader: int
    replicas: list[int]
    isr: list[int]
    log_start_offset: int
    log_end_offset: int
    #: Messages produced since the partition's previous row (its end offset after a topic was recreated).
    messages: int
    interval_seconds: float


class ConsumerLagRow(NamedTuple):
    """``kafka_consumer_lag``: one group partition in one cycle."""

    ts: datetime
    cluster: str
    consumer_group: str
    topic: str
    partition: int
    committed_offset: int | None
    has_commit: bool
    log_end_offset: int
    lag: int | None
    #: Messages still retained that the group has not consumed (the whole log when it never committed).
    retained_lag: int
    lag_seconds: float | None
    status: str
    client_id: str
    host: str


class ConsumerGroupRow(NamedTuple):
    """``kafka_consumer_groups``: one group in one cycle, its partitions summed up."""

    ts: datetime
    cluster: str
    consumer_group: str
    state: str
    members: int | None
    coordinator: int | None
    status: str
    worst_partition_status: str
    partitions: int
    partitions_with_commit: int
    total_lag: int
    max_lag: int
    max_lag_topic: str
    max_lag_partition: int
    max_lag_seconds: float | None
    #: Why the group could not be read this cycle ('' when it was).
    error: str

    @classmethod
    def unreadable(
        cls,
        ts: datetime,
        cluster: str,
        consumer_group: str,
        state: str,
        members: int | None,
        coordinator: int | None,
        error: str,
    ) -> ConsumerGroupRow:
        """A group whose commits could not be read this cycle: status NOTFOUND, no partitions, the error."""
        return cls(
            ts,
            cluster,
            consumer_group,
            state,
            members,
            coordinator,
            NOTFOUND,
            NOTFOUND,
            0,
            0,
            0,
            0,
            "",
            -1,
            None,
            error,
        )


class CollectorCycleRow(NamedTuple):
    """``kafka_collector_cycles``: one collection cycle, failed or not (a gap in the data is visible)."""

    ts: datetime
    cluster: str
    bootstrap: str
    ok: bool
    error: str
    duration_ms: float
    partitions: int
    partitions_failed: int
    groups: int
    groups_failed: int
    lag_rows: int


PARTITION_COLUMNS: tuple[str, ...] = PartitionOffsetRow._fields
LAG_COLUMNS: tuple[str, ...] = ConsumerLagRow._fields
GROUP_COLUMNS: tuple[str, ...] = ConsumerGroupRow._fields
CYCLE_COLUMNS: tuple[str, ...] = CollectorCycleRow._fields
