"""One collection cycle: read the cluster (``source``), build typed rows (``rows``), write them to ClickHouse.

State kept between cycles, per cluster:

- the ``(end offset, time)`` history of every partition (for lag in seconds and the end-offset deltas
  that become messages/throughput),
- the last ``window`` (committed, lag) samples of every group partition (for Burrow-style status).

Both live in memory and are **reloaded from ClickHouse when the collector starts**, so a restarted
collector (or a ``--once`` run from cron) keeps its interpolation history and status windows. ClickHouse
is the source of truth; memory is a cache of its recent rows.
"""

from __future__ import annotations

import logging
import re
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime

from smarter_obs.collectors.redpanda_lag import status as st
from smarter_obs.collectors.redpanda_lag.config import LagConfig
from smarter_obs.collectors.redpanda_lag.lag_time import DEFAULT_MAX_POINTS, OffsetTimeTable
from smarter_obs.collectors.redpanda_lag.rows import (
    CYCLE_COLUMNS,
    CYCLE_TABLE,
    GROUP_COLUMNS,
    GROUP_TABLE,
    LAG_COLUMNS,
    LAG_TABLE,
    PARTITION_COLUMNS,
    PARTITION_TABLE,
    CollectorCycleRow,
    ConsumerGroupRow,
    ConsumerLagRow,
    PartitionOffsetRow,
)
from smarter_obs.collectors.redpanda_lag.source import GroupInfo, KafkaSource, PartitionMeta
from smarter_obs.errors import SinkError, SourceError
from smarter_obs.run import CycleOutcome
from smarter_obs.sinks.clickhouse import ClickHouseSink

log = logging.getLogger(__name__)

_ACTIVE_STATES = {"STABLE", "PREPARING_REBALANCE", "COMPLETING_REBALANCE", "ASSIGNING", "RECONCILING"}
_INACTIVE_STATES = {"EMPTY", "DEAD"}

Key = tuple[str, int]

_MISSING_SCHEMA = re.compile(r"UNKNOWN_TABLE|UNKNOWN_DATABASE|does(?:n't| not) exist", re.IGNORECASE)


@dataclass
class CycleResult:
    """Rows of one cycle plus what went wrong."""

    partitions: list[PartitionOffsetRow] = field(default_factory=list)
    lags: list[ConsumerLagRow] = field(default_factory=list)
    groups: list[ConsumerGroupRow] = field(default_factory=list)
    partitions_failed: int = 0
    groups_failed: int = 0
    ends: dict[tuple[str, int], int] = field(default_factory=dict)  # log end offset of each partition row

    @property
    def lag_rows(self) -> int:
        return len(self.lags)


class _Window:
    """Last N (committed, lag) samples of one group partition."""

    __slots__ = ("committed", "lags")

    def __init__(self, size: int) -> None:
        self.committed: deque[int | None] = deque(maxlen=size)
        self.lags: deque[int | None] = deque(maxlen=size)

    def add(self, committed: int | None, lag: int | None) -> None:
        self.committed.append(committed)
        self.lags.append(lag)


class LagCollector:
    """Collects one cluster into one ClickHouse database. Call :meth:`cycle` once per interval."""

    def __init__(
        self,
        config: LagConfig,
        sink: ClickHouseSink,
        *,
        source: KafkaSource | None = None,
        rules: st.Rules = st.DEFAULT_RULES,
        history_points: int = DEFAULT_MAX_POINTS,
        history_lookback: float = 6 * 3600.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self.sink = sink
        self.source = source or KafkaSource(
            config.bootstrap, properties=config.properties, timeout=config.timeout
        )
        self.rules = rules
        self.history_points = history_points
        self.history_lookback = history_lookback
        self.clock = clock
        self.tables: dict[Key, OffsetTimeTable] = {}
        #: (end offset, time) of each partition's last row in ClickHouse: ``messages`` counts from there, so
        #: what was produced while ClickHouse was down is counted once it is back, not lost.
        self.stored: dict[Key, tuple[int, float]] = {}
        self.windows: dict[tuple[str, str, int], _Window] = {}
        self._history_loaded = False
        self._source_failing = False
        self._sink_failing = False
        self._failing_groups: set[str] = set()
        self._warned_no_listing = False
        self._warned_no_topics = False
        self._partitions_failing = False
        #: True when the caller reports a failed cycle itself (``--once``): failures are logged at DEBUG.
        self.quiet_failures = False

    # -- history --------------------------------------------------------------------------------------------

    def load_history(self) -> None:
        """Reload end-offset history and status windows of this cluster from ClickHouse (at start)."""
        params = {"cluster": self.config.cluster, "lookback": int(self.history_lookback)}
        db = self.sink.database
        # Flat runs are compressed on insert into the table, so read more raw points than it keeps.
        rows = self.sink.query_rows(
            f"SELECT topic, `partition`, toUnixTimestamp64Milli(ts) / 1000.0, log_end_offset "
            f"FROM {db}.{PARTITION_TABLE} "
            "WHERE cluster = {cluster:String} AND ts > now64(3) - toIntervalSecond({lookback:UInt32}) "
            "ORDER BY topic, `partition`, ts DESC LIMIT {points:UInt32} BY topic, `partition`",
            {**params, "points": self.history_points * 4},
        )
        for topic, partition, ts, end in reversed(rows):  # oldest first per partition
            self._table((topic, partition)).add(end, ts)
            self.stored[(topic, partition)] = (end, ts)
        rows = self.sink.query_rows(
            "SELECT consumer_group, topic, `partition`, committed_offset, lag "
            f"FROM {db}.{LAG_TABLE} "
            "WHERE cluster = {cluster:String} AND ts > now64(3) - toIntervalSecond({lookback:UInt32}) "
            "ORDER BY consumer_group, topic, `partition`, ts DESC "
            "LIMIT {window:UInt32} BY consumer_group, topic, `partition`",
            {**params, "window": self.rules.window},
        )
        for group, topic, partition, committed, lag in reversed(rows):
            self._window((group, topic, partition)).add(committed, lag)
        log.info(
            "reloaded history of %s: %d partitions, %d group partitions",
            self.config.cluster,
            len(self.tables),
            len(self.windows),
        )

    def _table(self, key: Key) -> OffsetTimeTable:
        table = self.tables.get(key)
        if table is None:
            table = self.tables[key] = OffsetTimeTable(self.history_points)
        return table

    def _window(self, key: tuple[str, str, int]) -> _Window:
        window = self.windows.get(key)
        if window is None:
            window = self.windows[key] = _Window(self.rules.window)
        return window

    # -- the cycle ------------------------------------------------------------------------------------------

    def cycle(self) -> CycleOutcome:
        """Read, compute, write. Never raises for an unreachable cluster or store: the outcome says so."""
        started = time.monotonic()
        now = self.clock()
        ts = datetime.fromtimestamp(now, UTC)
        if not self._history_loaded:
            try:
                self.load_history()
            except SinkError as exc:
                log.warning(
                    "could not reload lag history from ClickHouse (%s); starting with an empty window", exc
                )
            self._history_loaded = True
        try:
            result = self.collect(now, ts)
        except SourceError as exc:
            self.source.drain_logs()
            self._log_source_failure(exc)
            self._write_cycle(ts, started, ok=False, error=str(exc))
            return CycleOutcome(ok=False, message=str(exc))
        self.source.drain_logs()
        if self._source_failing:
            log.warning("Kafka bootstrap servers %s reachable again", self.config.bootstrap)
            self._source_failing = False
        try:
            written = self.sink.write(PARTITION_TABLE, PARTITION_COLUMNS, result.partitions, columnar=False)
            self.stored.update((key, (end, now)) for key, end in result.ends.items())
            written += self.sink.write(LAG_TABLE, LAG_COLUMNS, result.lags, columnar=False)
            written += self.sink.write(GROUP_TABLE, GROUP_COLUMNS, result.groups, columnar=False)
        except SinkError as exc:
            message = str(exc)
            if _MISSING_SCHEMA.search(message):
                message += (
                    "; create the tables with `smarter-obs db migrate --clickhouse URL [--database DB]`"
                )
            if not self._sink_failing and not self.quiet_failures:
                log.error("writing Kafka lag rows failed (%s); every cycle tries again", message)
            self._sink_failing = True
            return CycleOutcome(ok=False, message=message)
        if self._sink_failing:
            log.warning("writing to ClickHouse works again")
            self._sink_failing = False
        self._write_cycle(ts, started, ok=True, error="", result=result)
        message = (
            f"{len(result.partitions)} partitions, {len(result.groups)} groups "
            f"({result.groups_failed} failed), {result.lag_rows} lag rows"
        )
        log.info("cycle done in %.0f ms: %s", (time.monotonic() - started) * 1000.0, message)
        return CycleOutcome(ok=True, rows=written, message=message)

    def _log_source_failure(self, exc: SourceError) -> None:
        if self.quiet_failures:
            log.debug("cycle failed: %s", exc)
        elif not self._source_failing:
            log.error("%s; the gap is recorded and every cycle tries again", exc)
        else:
            log.debug("still failing: %s", exc)
        self._source_failing = True

    def _write_cycle(
        self, ts: datetime, started: float, *, ok: bool, error: str, result: CycleResult | None = None
    ) -> None:
        row = CollectorCycleRow(
            ts=ts,
            cluster=self.config.cluster,
            bootstrap=self.config.bootstrap,
            ok=ok,
            error=error,
            duration_ms=(time.monotonic() - started) * 1000.0,
            partitions=len(result.partitions) if result else 0,
            partitions_failed=result.partitions_failed if result else 0,
            groups=len(result.groups) if result else 0,
            groups_failed=result.groups_failed if result else 0,
            lag_rows=result.lag_rows if result else 0,
        )
        try:
            self.sink.write(CYCLE_TABLE, CYCLE_COLUMNS, [row], columnar=False)
        except SinkError as exc:
            if not self._sink_failing:
                log.error("recording the collection cycle in ClickHouse failed: %s", exc)
            self._sink_failing = True

    def collect(self, now: float, ts: datetime) -> CycleResult:
        """Read the cluster and build the cycle's rows (no writes). Raises SourceError when unreachable."""
        source = self.source
        metas = source.partitions(self.config.topics)
        if not metas and not self._warned_no_topics:
            log.warning(
                "no topic at %s matches the topic selection (--topic %s)",
                self.config.bootstrap,
                " ".join(p.pattern for p in self.config.topics.patterns) or "default: not starting with _",
            )
            self._warned_no_topics = True
        watermarks, wm_errors = source.watermarks([(m.topic, m.partition) for m in metas])
        if metas and not watermarks:
            sample = next(iter(wm_errors.values()), "no answer")
            raise SourceError(
                f"Kafka bootstrap servers {self.config.bootstrap}: no partition offsets could be "
                f"read ({sample})",
                source="kafka",
            )
        result = CycleResult()
        result.partitions_failed = len(wm_errors)
        if wm_errors and not self._partitions_failing:
            log.warning(
                "%d partitions without offsets this cycle (left out, counted in partitions_failed), "
                "e.g. %s: %s",
                len(wm_errors),
                *next(iter(wm_errors.items())),
            )
        elif not wm_errors and self._partitions_failing:
            log.warning("offsets of every partition readable again")
        self._partitions_failing = bool(wm_errors)
        self._partition_rows(result, metas, watermarks, now, ts)

        discovered = source.list_groups()
        if discovered is None and self.config.groups.patterns and not self._warned_no_listing:
            log.warning(
                "the brokers at %s cannot list consumer groups: only groups named with --group (%s) "
                "are collected",
                self.config.bootstrap,
                ", ".join(self.config.groups.names) or "none",
            )
            self._warned_no_listing = True
        groups = self.config.groups.select(discovered)
        keys = [(m.topic, m.partition) for m in metas if (m.topic, m.partition) in watermarks]
        # DescribeGroups and OffsetFetch are independent: overlap them so a slow coordinator costs one
        # timeout, not two.
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="describe-groups") as pool:
            describing = pool.submit(source.describe_groups, groups)
            commits = source.committed_offsets(groups, keys)
            try:
                described = describing.result()
            except SourceError as exc:
                log.debug("describing consumer groups failed: %s", exc)
                described = {}
        by_topic: dict[str, list[Key]] = {}
        for key in keys:
            by_topic.setdefault(key[0], []).append(key)
        for group in groups:
            self._group_rows(
                result, group, commits.get(group), described.get(group), watermarks, by_topic, now, ts
            )
        self._forget_gone({(m.topic, m.partition) for m in metas}, set(groups))
        return result

    def _forget_gone(self, partitions: set[Key], groups: set[str]) -> None:
        """Drop the state of deleted/deselected partitions and groups so a long run does not grow without
        bound. A group that failed this cycle is still selected, so its window survives the failure."""
        for key in [k for k in self.tables if k not in partitions]:
            del self.tables[key]
        for key in [k for k in self.stored if k not in partitions]:
            del self.stored[key]
        for key in [k for k in self.windows if k[0] not in groups or (k[1], k[2]) not in partitions]:
            del self.windows[key]

    def _partition_rows(
        self,
        result: CycleResult,
        metas: list[PartitionMeta],
        watermarks: dict[Key, tuple[int, int]],
        now: float,
        ts: datetime,
    ) -> None:
        append = result.partitions.append
        cluster = self.config.cluster
        for m in metas:
            key = (m.topic, m.partition)
            wm = watermarks.get(key)
            if wm is None:
                continue
            start, end = wm
            messages, interval = 0, 0.0
            previous = self.stored.get(key)
            if previous is not None:
                prev_end, prev_ts = previous
                # A lower end offset means the topic was recreated: count the new end (Prometheus increase()).
                messages = end - prev_end if end >= prev_end else end
                interval = max(now - prev_ts, 0.0)
            self._table(key).add(end, now)
            result.ends[key] = end
            append(
                PartitionOffsetRow(
                    ts=ts,
                    cluster=cluster,
                    topic=m.topic,
                    partition=m.partition,
                    leader=m.leader,
                    replicas=list(m.replicas),
                    isr=list(m.isr),
                    log_start_offset=start,
                    log_end_offset=end,
                    messages=messages,
                    interval_seconds=interval,
                )
            )

    def _group_rows(
        self,
        result: CycleResult,
        group: str,
        committed: dict[Key, int | None] | SourceError | None,
        info: GroupInfo | None,
        watermarks: dict[Key, tuple[int, int]],
        by_topic: dict[str, list[Key]],
        now: float,
        ts: datetime,
    ) -> None:
        cluster = self.config.cluster
        state = info.state.upper() if info else ""
        members = info.members if info else None
        coordinator = info.coordinator if info else None
        if committed is None or isinstance(committed, SourceError):
            error = str(committed) if committed is not None else "no answer"
            result.groups_failed += 1
            if group not in self._failing_groups:
                log.error("consumer group %s: %s", group, error)
                self._failing_groups.add(group)
            result.groups.append(
                ConsumerGroupRow.unreadable(ts, cluster, group, state, members, coordinator, error)
            )
            return
        if group in self._failing_groups:
            log.warning("consumer group %s readable again", group)
            self._failing_groups.discard(group)

        assignments = info.assignments if info else {}
        # The group's topics: where it committed or has assigned partitions. A group known by name that has
        # neither (never committed, broker cannot describe it) is reported on every topic in scope, so it
        # shows up with has_commit = false instead of disappearing.
        topics = {t for (t, _p), c in committed.items() if c is not None}
        topics.update(t for (t, _p) in assignments if t in by_topic)
        if not topics:
            topics = set(by_topic)
        if state in _INACTIVE_STATES:
            active: bool | None = False
        elif state in _ACTIVE_STATES or members:
            active = True
        else:
            active = None

        append = result.lags.append
        rules, tables = self.rules, self.tables
        statuses: list[str] = []
        total_lag = max_lag = 0
        max_topic, max_partition, max_seconds = "", -1, None
        partitions = with_commit = 0
        for topic in sorted(topics):
            for key in by_topic.get(topic, ()):
                if key not in committed:
                    continue  # the partition errored in OffsetFetch: unknown, not "no commit"
                c = committed[key]
                start, end = watermarks[key]
                partitions += 1
                if c is None:
                    lag = seconds = None
                    retained = end - start
                else:
                    with_commit += 1
                    lag = end - c if end > c else 0
                    retained = max(end - max(c, start), 0)
                    seconds = tables[key].lag_seconds(c, now)
                window = self._window((group, topic, key[1]))
                window.add(c, lag)
                status = st.partition_status(window.committed, window.lags, rules, group_active=active)
                statuses.append(status)
                if lag is not None:
                    total_lag += lag
                    if lag > max_lag or max_partition < 0:
                        max_lag, max_topic, max_partition = lag, topic, key[1]
                if seconds is not None and (max_seconds is None or seconds > max_seconds):
                    max_seconds = seconds
                client_id, host = assignments.get(key, ("", ""))
                # Positional, in field order: one row per group partition (50,000 a cycle in bench_redpanda),
                # and keywords cost ~1 µs per row.
                append(
                    ConsumerLagRow(
                        ts,
                        cluster,
                        group,
                        topic,
                        key[1],
                        c,  # committed_offset
                        c is not None,  # has_commit
                        end,  # log_end_offset
                        lag,
                        retained,  # retained_lag
                        seconds,  # lag_seconds
                        status,
                        client_id,
                        host,
                    )
                )
        group_status, worst = st.group_status(statuses)
        result.groups.append(
            ConsumerGroupRow(
                ts=ts,
                cluster=cluster,
                consumer_group=group,
                state=state,
                members=members,
                coordinator=coordinator,
                status=group_status,
                worst_partition_status=worst,
                partitions=partitions,
                partitions_with_commit=with_commit,
                total_lag=total_lag,
                max_lag=max_lag,
                max_lag_topic=max_topic,
                max_lag_partition=max_partition,
                max_lag_seconds=max_seconds,
                error="",
            )
        )
