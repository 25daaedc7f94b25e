"""Kafka lag collector: one collection cycle over 50 consumer groups x 1,000 partitions (issue 4).

Target: a cycle (read metadata, watermarks and 50 groups' commits, compute lag/lag seconds/status,
write ~51,000 rows to ClickHouse) in < 2 s on 2 cores. Baseline, measured in the same run: the raw admin
calls alone (metadata + earliest/latest offsets + 50 OffsetFetch), i.e. what any collector must wait for.
Runs against librdkafka's mock cluster and embedded ClickHouse (chDB).
"""

from __future__ import annotations

import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

GROUPS = 50
TOPICS = {
    "shopify.orders": 250,
    "shopify.inventory": 150,
    "whatsapp.messages": 200,
    "whatsapp.status": 100,
    "n8n.executions": 200,
    "n8n.webhooks": 100,
}  # 1,000 partitions
TARGET_SECONDS = 2.0
CYCLES = 5


def _setup(cluster) -> tuple[dict, float]:
    from confluent_kafka import ConsumerGroupTopicPartitions, Producer, TopicPartition
    from confluent_kafka.admin import AdminClient

    started = time.perf_counter()
    rng = random.Random(4)
    for topic, partitions in TOPICS.items():
        cluster.create_topic(topic, partitions, 3)
    producer = Producer({"bootstrap.servers": cluster.bootstrap, "linger.ms": 50, "log_level": 2})
    ends = {}
    for topic, partitions in TOPICS.items():
        for p in range(partitions):
            ends[(topic, p)] = n = rng.randint(1, 30)
            for _ in range(n):
                producer.produce(topic, b"x", partition=p)
    producer.flush(60)
    admin = AdminClient({"bootstrap.servers": cluster.bootstrap, "log_level": 2})
    futures = []
    for g in range(GROUPS):  # commits for all 1,000 partitions of each group in one request per group
        tps = [TopicPartition(t, p, rng.randint(0, end)) for (t, p), end in ends.items()]
        futures += admin.alter_consumer_group_offsets(
            [ConsumerGroupTopicPartitions(f"bench-{g:02d}", tps)], request_timeout=60
        ).values()
    for f in futures:
        f.result()
    return ends, time.perf_counter() - started


def _raw_admin_calls(bootstrap: str, groups: list[str]) -> float:
    """The Kafka requests of one cycle, nothing else."""
    from smarter_obs.collectors.redpanda_lag.source import KafkaSource

    source = KafkaSource(bootstrap, timeout=30)
    started = time.perf_counter()
    metas = source.partitions(lambda t: not t.startswith("_"))
    keys = [(m.topic, m.partition) for m in metas]
    source.watermarks(keys)
    source.committed_offsets(groups, keys)
    return time.perf_counter() - started


def main() -> None:
    sys.path.insert(
        0, str(Path(__file__).resolve().parents[1])
    )  # the mock-cluster harness lives with the tests
    from bench import _report
    from smarter_obs.collectors.redpanda_lag.collector import LagCollector
    from smarter_obs.collectors.redpanda_lag.config import GroupSelector, LagConfig
    from smarter_obs.db.clickhouse import migrate
    from smarter_obs.sinks.clickhouse import ClickHouseSink
    from tests.collectors.redpanda_lag.mock_cluster import MockCluster

    with MockCluster(brokers=3) as cluster, tempfile.TemporaryDirectory() as tmp:
        ends, setup_s = _setup(cluster)
        print(f"   setup: {len(ends)} partitions, {GROUPS} groups committed in {setup_s:.1f}s", flush=True)
        url = f"chdb://{tmp}/ch"
        migrate(url, database="bench")
        groups = [f"bench-{g:02d}" for g in range(GROUPS)]
        config = LagConfig(
            bootstrap=cluster.bootstrap, cluster="bench", groups=GroupSelector.parse(groups), timeout=30
        )
        with ClickHouseSink(url, database="bench") as sink:
            collector = LagCollector(config, sink)
            started = time.perf_counter()
            outcome = collector.cycle()  # first cycle: history reload from an empty store, connections
            first = time.perf_counter() - started
            outcomes = [outcome]
            times, baselines = [], []
            for _ in range(CYCLES):
                baselines.append(_raw_admin_calls(cluster.bootstrap, groups))
                started = time.perf_counter()
                outcome = collector.cycle()
                times.append(time.perf_counter() - started)
                outcomes.append(outcome)
            lag_rows = sink.query_rows("SELECT count() FROM bench.kafka_consumer_lag")[0][0]
            latest_ends = sink.query_rows(
                "SELECT topic, `partition`, argMax(log_end_offset, ts) "
                "FROM bench.kafka_partition_offsets GROUP BY topic, `partition`"
            )
            stored_ends = {(topic, partition): end for topic, partition, end in latest_ends}
            restarted = LagCollector(config, sink)
            started = time.perf_counter()
            restarted.load_history()
            reload_s = time.perf_counter() - started
    failed = [o.message for o in outcomes if not o.ok]
    _report.check(not failed, f"{len(failed)} of {len(outcomes)} cycles failed: {failed[:1]}")
    per_cycle = len(ends) + GROUPS * len(ends) + GROUPS  # partition, lag and group rows
    _report.check(
        all(o.rows == per_cycle for o in outcomes),
        f"rows written per cycle {sorted({o.rows for o in outcomes})}, expected {per_cycle}",
    )
    _report.check(
        lag_rows == GROUPS * len(ends) * len(outcomes),
        f"{lag_rows} lag rows stored, expected {GROUPS * len(ends) * len(outcomes)}",
    )
    _report.check(stored_ends == ends, "stored end offsets differ from the offsets produced")
    cycle, baseline = statistics.median(times), statistics.median(baselines)
    _report.target(
        f"lag cycle, {GROUPS} groups x {len(ends):,} partitions (median of {CYCLES})",
        f"{cycle:.3f} s",
        f"< {TARGET_SECONDS:g} s",
        cycle < TARGET_SECONDS,
        f"raw admin calls {baseline:.3f} s (cycle/baseline {cycle / baseline:.1f}x)",
    )
    print(f"   rows per cycle: {outcome.rows} ({lag_rows // (CYCLES + 1)} lag rows)")
    print(f"   first cycle (connect + empty history reload): {first:.3f}s")
    print(
        f"   cycle, median of {CYCLES}: {cycle:.3f}s   target < {TARGET_SECONDS:.1f}s   "
        f"{'OK' if cycle < TARGET_SECONDS else 'MISSED'} ({cycle / TARGET_SECONDS:.0%} of target)"
    )
    print(f"   baseline, raw admin calls only: {baseline:.3f}s   cycle/baseline = {cycle / baseline:.1f}x")
    print(f"   history reload at start ({CYCLES + 1} cycles stored): {reload_s:.3f}s")


if __name__ == "__main__":
    main()
