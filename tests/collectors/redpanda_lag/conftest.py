"""Fixtures: a librdkafka mock cluster per test, real confluent-kafka producers/consumer groups on it."""

from __future__ import annotations

import random
import time
from collections.abc import Iterator

import pytest

from tests.collectors.redpanda_lag.mock_cluster import MockCluster

# Test clients log connection errors of deliberately downed brokers at level 3; keep only critical lines.
QUIET = {"log_level": 2}


@pytest.fixture
def mock_cluster() -> Iterator[MockCluster]:
    cluster = MockCluster(brokers=3)
    try:
        yield cluster
    finally:
        cluster.close()


class Kafka:
    """Real clients against the mock cluster: produce known counts, commit known offsets as a group."""

    def __init__(self, cluster: MockCluster) -> None:
        from confluent_kafka import Producer

        self.cluster = cluster
        self.producer = Producer({"bootstrap.servers": cluster.bootstrap, "linger.ms": 0, **QUIET})
        self.produced: dict[tuple[str, int], int] = {}
        self._consumers: dict[str, object] = {}

    def produce(self, topic: str, counts: dict[int, int]) -> None:
        """``counts[partition]`` messages into each partition; waits until all are acknowledged."""
        for partition, count in counts.items():
            for i in range(count):
                self.producer.produce(topic, value=b"m%d" % i, partition=partition)
            self.produced[(topic, partition)] = self.produced.get((topic, partition), 0) + count
        assert self.producer.flush(10) == 0

    def commit(self, group: str, offsets: dict[tuple[str, int], int]) -> None:
        """Commit ``offsets`` for ``group`` through a real consumer of that group (OffsetCommit)."""
        from confluent_kafka import Consumer, TopicPartition

        consumer = self._consumers.get(group)
        if consumer is None:
            consumer = Consumer(
                {
                    "bootstrap.servers": self.cluster.bootstrap,
                    "group.id": group,
                    "enable.auto.commit": False,
                    **QUIET,
                }
            )
            self._consumers[group] = consumer
        consumer.commit(
            offsets=[TopicPartition(t, p, o) for (t, p), o in offsets.items()],  # type: ignore[attr-defined]
            asynchronous=False,
        )

    def close(self) -> None:
        for consumer in self._consumers.values():
            consumer.close()  # type: ignore[attr-defined]
        self.producer.flush(1)


@pytest.fixture
def kafka(mock_cluster: MockCluster) -> Iterator[Kafka]:
    k = Kafka(mock_cluster)
    try:
        yield k
    finally:
        k.close()


@pytest.fixture
def rng() -> random.Random:
    return random.Random(20261127)


class Clock:
    """A controllable wall clock near the real time (ClickHouse TTLs drop rows dated far in the past)."""

    def __init__(self) -> None:
        self.now = float(int(time.time()) - 3600)

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> Clock:
    return Clock()
