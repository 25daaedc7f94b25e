"""SmarterOS event-bus traffic on librdkafka's mock cluster: producers, consumer groups, one falling behind.

Topics are the bus's families (``shopify.*``, ``whatsapp.*``, ``n8n.*``), produced at rates that follow the
business day (:mod:`smarter_obs.demo.timeline`). Four consumer groups really consume (``subscribe`` +
``consume`` + ``commit``) with a processing capacity each: ``n8n-workers`` has less capacity than the
afternoon peak, so its lag builds during the day and drains at night; ``analytics-loader`` commits once an
quarter of an hour (a sawtooth); the others keep up.

History over days comes from :func:`backfill_lag_history`: it steps a virtual clock through the past,
producing and consuming each step's traffic, and runs the real :class:`LagCollector` with that clock as its
``clock`` (the collector's own, documented injection point) into ClickHouse through a sink that batches
the collector's writes. Live traffic afterwards (:class:`LiveTraffic`) continues from the same offsets.
"""

from __future__ import annotations

import logging
import math
import random
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from smarter_obs.demo import timeline

__all__ = ["CLUSTER_NAME", "GROUPS", "TOPICS", "KafkaTraffic", "LiveTraffic", "backfill_lag_history"]

log = logging.getLogger(__name__)

CLUSTER_NAME = "smarteros-demo"
#: topic → (partitions, messages per second at activity 1.0)
TOPICS: dict[str, tuple[int, float]] = {
    "shopify.orders": (6, 0.02),
    "shopify.checkouts": (6, 0.05),
    "shopify.inventory": (3, 0.03),
    "whatsapp.inbound": (12, 0.25),
    "whatsapp.outbound": (12, 0.2),
    "whatsapp.status": (6, 0.35),
    "n8n.events": (4, 0.08),
    "n8n.executions": (4, 0.06),
}


@dataclass(frozen=True)
class GroupProfile:
    name: str
    topics: tuple[str, ...]
    capacity: float  # messages per second it can process
    commit_every: float = 0.0  # seconds between commits (0: every step)


GROUPS: tuple[GroupProfile, ...] = (
    GroupProfile(
        "n8n-workers", ("shopify.orders", "shopify.checkouts", "whatsapp.inbound", "n8n.events"), 0.45
    ),
    GroupProfile("chatwoot-sync", ("whatsapp.inbound", "whatsapp.outbound", "whatsapp.status"), 10.0),
    GroupProfile("crm-sync", ("shopify.orders", "shopify.checkouts", "shopify.inventory"), 10.0),
    GroupProfile("analytics-loader", tuple(TOPICS), 50.0, commit_every=900.0),
)


def create_topics(cluster: Any) -> None:
    """The demo's topics with their partition counts, leaders spread over the brokers."""
    for topic, (partitions, _rate) in TOPICS.items():
        cluster.create_topic(topic, partitions)
        for partition in range(partitions):
            cluster.set_leader(
                topic, partition, cluster.broker_ids[(partition + len(topic)) % len(cluster.broker_ids)]
            )


@dataclass
class _Group:
    profile: GroupProfile
    consumer: Any
    backlog: int = 0  # produced to its topics and not consumed yet
    credit: float = 0.0  # fractional capacity carried over
    last_commit: float = 0.0
    consumed: int = 0


@dataclass
class KafkaTraffic:
    """Producers and consumer groups on ``bootstrap``; :meth:`step` advances them by ``seconds``."""

    bootstrap: str
    seed: int = 7
    scale: float = 1.0
    groups: Sequence[GroupProfile] = GROUPS
    #: read each group's backlog from the cluster first (continuing where another instance stopped)
    resume: bool = False
    produced: dict[str, int] = field(default_factory=dict)
    _rng: random.Random = field(init=False)
    _producer: Any = field(init=False, default=None)
    _groups: list[_Group] = field(init=False, default_factory=list)
    _fraction: dict[str, float] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        from confluent_kafka import Consumer, Producer

        self._rng = random.Random(self.seed)
        self._producer = Producer(
            {"bootstrap.servers": self.bootstrap, "linger.ms": 5, "client.id": "smarteros-bus"}
        )
        for profile in self.groups:
            consumer = Consumer(
                {
                    "bootstrap.servers": self.bootstrap,
                    "group.id": profile.name,
                    "client.id": f"{profile.name}-1",
                    "enable.auto.commit": False,
                    "auto.offset.reset": "earliest",
                    "session.timeout.ms": 45_000,
                    "fetch.wait.max.ms": 10,  # the mock broker answers an empty fetch only at this timeout
                }
            )
            self._groups.append(_Group(profile, consumer))
        if self.resume:  # before subscribing: an OffsetFetch waits while the group rebalances
            self._sync_backlog()
        for group in self._groups:
            group.consumer.subscribe(list(group.profile.topics))

    def _sync_backlog(self, timeout: float = 10.0) -> None:
        """Each group's backlog from the cluster (log end − committed offset): a new instance continuing
        where an earlier one (another process) stopped consumes what that one left."""
        from confluent_kafka import TopicPartition

        metadata = self._producer.list_topics(timeout=timeout)
        for group in self._groups:
            partitions = [
                TopicPartition(topic, p)
                for topic in group.profile.topics
                for p in metadata.topics[topic].partitions
            ]
            backlog = 0
            for tp in group.consumer.committed(partitions, timeout=timeout):
                low, high = group.consumer.get_watermark_offsets(tp, timeout=timeout, cached=False)
                backlog += high - (tp.offset if tp.offset >= 0 else low)
            group.backlog = backlog

    def produce(self, now: float, seconds: float) -> int:
        """Messages for ``seconds`` of traffic ending at ``now`` (virtual or real epoch seconds)."""
        level = timeline.activity(now) * self.scale
        total = 0
        for topic, (_partitions, rate) in TOPICS.items():
            expected = rate * level * seconds * self._rng.uniform(0.8, 1.2) + self._fraction.get(topic, 0.0)
            count = int(expected)
            self._fraction[topic] = expected - count
            for i in range(count):
                key = f"{topic.split('.')[0]}-{self._rng.randrange(5000)}".encode()
                self._producer.produce(topic, value=b'{"v":1,"source":"smarteros"}', key=key)
                if i % 10_000 == 9_999:
                    self._producer.poll(0)
            self.produced[topic] = self.produced.get(topic, 0) + count
            for group in self._groups:
                if topic in group.profile.topics:
                    group.backlog += count
            total += count
        self._producer.flush(30)
        return total

    def consume(self, now: float, seconds: float, *, timeout: float = 5.0) -> None:
        """Each group processes what its capacity allows in ``seconds`` (and commits on its schedule)."""
        for group in self._groups:
            group.credit += group.profile.capacity * self.scale * seconds
            budget = min(int(group.credit), group.backlog)
            got = self._consume(group.consumer, budget, timeout) if budget else 0
            if budget == 0:
                group.consumer.poll(0)  # heartbeats and rebalance callbacks
            group.credit -= got
            group.credit = min(group.credit, group.profile.capacity * self.scale * seconds)
            group.backlog -= got
            group.consumed += got
            if got and now - group.last_commit >= group.profile.commit_every:
                group.consumer.commit(asynchronous=False)
                group.last_commit = now

    @staticmethod
    def _consume(consumer: Any, budget: int, timeout: float = 5.0) -> int:
        got, deadline = 0, time.monotonic() + timeout
        while got < budget and time.monotonic() < deadline:
            for message in consumer.consume(num_messages=min(budget - got, 5000), timeout=0.2):
                if message.error() is None:
                    got += 1
        return got

    def step(self, now: float, seconds: float, *, timeout: float = 5.0) -> None:
        self.produce(now, seconds)
        self.consume(now, seconds, timeout=timeout)

    def close(self) -> None:
        for group in self._groups:
            group.consumer.close()
        self._groups.clear()
        self._producer.flush(10)
        self._producer = None


class BatchingSink:
    """The collector's sink, holding rows back and writing them per table every ``flush_every`` writes.

    Backfilling hundreds of cycles would otherwise cost four small inserts per cycle; the rows written
    are exactly the collector's.
    """

    def __init__(self, sink: Any, flush_every: int = 200) -> None:
        self.sink = sink
        self.database = sink.database
        self.flush_every = flush_every
        self._pending: dict[tuple[str, tuple[str, ...]], list] = {}
        self._writes = 0

    def write(self, table: str, columns: Sequence[str], data: Sequence[Any], *, columnar: bool = True) -> int:
        assert not columnar, "the lag collector writes rows"
        self._pending.setdefault((table, tuple(columns)), []).extend(data)
        self._writes += 1
        if self._writes >= self.flush_every:
            self.flush()
        return len(data)

    def query_rows(self, sql: str, parameters: dict[str, Any] | None = None) -> list[tuple]:
        self.flush()
        return self.sink.query_rows(sql, parameters)

    def flush(self) -> None:
        for (table, columns), rows in self._pending.items():
            if rows:
                self.sink.write(table, columns, rows, columnar=False)
        self._pending.clear()
        self._writes = 0


def backfill_lag_history(
    bootstrap: str,
    clickhouse_url: str | None,
    *,
    start: float,
    end: float,
    interval: float = 300.0,
    seed: int = 7,
    scale: float = 1.0,
    database: str | None = None,
    progress: Callable[[str], None] | None = None,
) -> dict[str, int]:
    """Traffic and lag samples every ``interval`` virtual seconds in ``[start, end)``; returns counts."""
    from smarter_obs import _collectors as c
    from smarter_obs.sinks.clickhouse import ClickHouseSink

    traffic = KafkaTraffic(bootstrap, seed=seed, scale=scale)
    steps = max(int(math.ceil((end - start) / interval)), 1)
    virtual = [start]
    with ClickHouseSink(clickhouse_url, database=database) as sink:
        batching = BatchingSink(sink)
        config = c.LagConfig(
            bootstrap=bootstrap,
            cluster=CLUSTER_NAME,
            groups=c.GroupSelector.parse([g.name for g in GROUPS]),
            topics=c.TopicSelector.parse([r"(shopify|whatsapp|n8n)\..*"]),
            timeout=10.0,
        )
        collector = c.LagCollector(config, batching, clock=lambda: virtual[0])  # type: ignore[arg-type]
        cycles = failed = 0
        try:
            for index in range(steps):
                virtual[0] = start + index * interval
                traffic.step(virtual[0], interval)
                outcome = collector.cycle()
                cycles += 1
                failed += not outcome.ok
                if progress and (index + 1) % max(steps // 10, 1) == 0:
                    progress(f"{index + 1}/{steps} lag samples, {sum(traffic.produced.values())} messages")
            batching.flush()
        finally:
            traffic.close()
    return {"cycles": cycles, "failed_cycles": failed, "messages": sum(traffic.produced.values())}


class LiveTraffic:
    """:class:`KafkaTraffic` continuing in a background thread while ``smarter-obs serve`` collects.

    Time runs ``speed`` times faster than the clock (one real second is a minute of traffic by default),
    so a short live phase still moves the consumer groups; the groups pick up the backlog the history
    step left.
    """

    def __init__(
        self, bootstrap: str, *, seed: int = 8, scale: float = 1.0, speed: float = 60.0, tick: float = 1.0
    ) -> None:
        self.traffic = KafkaTraffic(bootstrap, seed=seed, scale=scale, resume=True)
        self.speed, self.tick = speed, tick
        self._virtual = time.time()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="demo-kafka-traffic", daemon=True)

    def start(self) -> LiveTraffic:
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(self.tick):
            self._virtual += self.tick * self.speed
            try:
                self.traffic.step(self._virtual, self.tick * self.speed, timeout=self.tick)
            except Exception:  # keep the demo going; the collector shows the gap
                log.exception("live Kafka traffic step failed")

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)
        self.traffic.close()
