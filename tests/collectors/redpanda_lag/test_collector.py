"""The collector against librdkafka's mock cluster (real Kafka protocol) and embedded ClickHouse."""

from __future__ import annotations

import logging
import random

import pytest

from smarter_obs.collectors.redpanda_lag import status as st
from smarter_obs.collectors.redpanda_lag.collector import LagCollector
from smarter_obs.collectors.redpanda_lag.config import GroupSelector, LagConfig, TopicSelector
from smarter_obs.sinks.clickhouse import ClickHouseSink

RULES = st.Rules(window=5, allowed_lag=0, min_samples=3)


def make_collector(
    cluster,
    chdb_url: str,
    database: str,
    clock,
    *,
    groups=(),
    topics=(),
    timeout: float = 3.0,
    name: str = "mock",
) -> LagCollector:
    config = LagConfig(
        bootstrap=cluster.bootstrap,
        cluster=name,
        groups=GroupSelector.parse(groups),
        topics=TopicSelector.parse(topics),
        timeout=timeout,
    )
    sink = ClickHouseSink(chdb_url, database=database)
    return LagCollector(config, sink, rules=RULES, clock=clock)


def rows(client, sql: str, **params) -> list[tuple]:
    return list(client.query(sql, parameters=params).result_rows)


def lag_rows(client, group: str) -> dict[tuple[str, int], tuple]:
    """Latest (committed, has_commit, end, lag, retained_lag, lag_seconds, status) per partition of
    ``group``."""
    out = rows(
        client,
        "SELECT topic, partition, committed_offset, has_commit, log_end_offset, lag, retained_lag, "
        "lag_seconds, status FROM kafka_consumer_lag WHERE consumer_group = {g:String} "
        "ORDER BY ts DESC LIMIT 1 BY topic, partition",
        g=group,
    )
    return {(r[0], r[1]): r[2:] for r in out}


def test_one_cycle_stores_offsets_leaders_commits_and_lag_equal_to_ground_truth(
    mock_cluster, kafka, clickhouse, chdb_url, clock, rng: random.Random
) -> None:
    layout = {
        "shopify.orders": (4, 3),
        "whatsapp.messages": (3, 2),
        "n8n.empty": (2, 1),
        "other.topic": (1, 1),
    }
    leaders = {}
    for topic, (partitions, rf) in layout.items():
        mock_cluster.create_topic(topic, partitions, rf)
        for p in range(partitions):
            leaders[(topic, p)] = rng.randint(1, 3) if rf == 3 else None
            if leaders[(topic, p)] is not None:
                mock_cluster.set_leader(topic, p, leaders[(topic, p)])
    for topic in ("shopify.orders", "whatsapp.messages"):
        kafka.produce(topic, {p: rng.randint(5, 40) for p in range(layout[topic][0])})
    kafka.produce("other.topic", {0: 3})
    produced = kafka.produced
    workers = {("shopify.orders", p): rng.randint(0, produced[("shopify.orders", p)]) for p in range(3)}
    workers[("n8n.empty", 0)] = 0  # committed on an empty topic: lag 0
    kafka.commit("n8n-workers", workers)
    caught_up = {("whatsapp.messages", p): produced[("whatsapp.messages", p)] for p in range(3)}
    kafka.commit("shopify-sync", caught_up)
    mock_cluster.delete_records("shopify.orders", 3, 2)  # retention moved the log start

    collector = make_collector(
        mock_cluster,
        chdb_url,
        clickhouse.database,
        clock,
        groups=["n8n-workers", "shopify-sync", "never-committed"],
        topics=[r"shopify\..*", r"whatsapp\..*", r"n8n\..*"],
    )
    outcome = collector.cycle()
    assert outcome.ok, outcome.message

    stored = {
        (r[0], r[1]): r[2:]
        for r in rows(
            clickhouse,
            "SELECT topic, partition, leader, length(replicas), log_start_offset, log_end_offset, messages "
            "FROM kafka_partition_offsets",
        )
    }
    expected_keys = {(t, p) for t, (n, _) in layout.items() if t != "other.topic" for p in range(n)}
    assert set(stored) == expected_keys  # other.topic filtered out by --topic
    for (topic, p), (leader, replicas, start, end, messages) in stored.items():
        if leaders[(topic, p)] is not None:
            assert leader == leaders[(topic, p)]
        assert replicas == layout[topic][1]
        assert end == produced.get((topic, p), 0)
        assert start == (2 if (topic, p) == ("shopify.orders", 3) else 0)
        assert messages == 0  # first sample of every partition

    got = lag_rows(clickhouse, "n8n-workers")
    assert set(got) == {("shopify.orders", p) for p in range(4)} | {("n8n.empty", p) for p in range(2)}
    for key, (committed, has_commit, _end, lag, retained, _seconds, status) in got.items():
        end_truth = produced.get(key, 0)
        if key in workers:
            assert (committed, has_commit, lag) == (workers[key], True, end_truth - workers[key])
            assert retained == end_truth - workers[key]
        else:  # no commit: NULL, never -1/NaN; retained_lag counts what the group would read from the start
            assert (committed, has_commit, lag, status) == (None, False, None, st.NOTFOUND)
            start = 2 if key == ("shopify.orders", 3) else 0
            assert retained == end_truth - start
    assert got[("n8n.empty", 0)][3] == 0

    assert all(v[3] == 0 and v[6] == st.OK for v in lag_rows(clickhouse, "shopify-sync").values())
    never = lag_rows(clickhouse, "never-committed")
    assert set(never) == expected_keys  # known by name only: reported on every topic in scope
    assert all(v[0] is None and v[1] is False and v[3] is None for v in never.values())

    groups = {
        r[0]: r[1:]
        for r in rows(
            clickhouse,
            "SELECT consumer_group, status, partitions, partitions_with_commit, total_lag, max_lag, "
            "max_lag_topic, max_lag_partition, error FROM kafka_consumer_groups",
        )
    }
    truth_lags = {k: produced.get(k, 0) - v for k, v in workers.items()}
    top = max(truth_lags.values())
    assert groups["n8n-workers"][1:5] == (6, 4, sum(truth_lags.values()), top)
    assert truth_lags[(groups["n8n-workers"][5], groups["n8n-workers"][6])] == top
    assert groups["never-committed"][:3] == (st.NOTFOUND, len(expected_keys), 0)
    assert rows(
        clickhouse,
        "SELECT countIf(lag < 0 OR isNaN(lag_seconds) OR committed_offset < 0) FROM kafka_consumer_lag",
    ) == [(0,)]


def test_throughput_and_lag_seconds_come_from_end_offset_deltas_between_cycles(
    mock_cluster, kafka, clickhouse, chdb_url, clock, rng: random.Random
) -> None:
    mock_cluster.create_topic("shopify.orders", 3, 1)
    mock_cluster.create_topic("whatsapp.messages", 2, 1)
    kafka.produce("shopify.orders", {0: 10, 1: 10, 2: 10})
    collector = make_collector(mock_cluster, chdb_url, clickhouse.database, clock, groups=["billing"])
    assert collector.cycle().ok
    first = dict(kafka.produced)

    batch = {
        "shopify.orders": {p: rng.randint(1, 50) for p in range(3)},
        "whatsapp.messages": {p: rng.randint(1, 50) for p in range(2)},
    }
    for topic, counts in batch.items():
        kafka.produce(topic, counts)
    # The consumer sits inside the new batch of partition 0: its time lag is known exactly.
    committed = first[("shopify.orders", 0)] + batch["shopify.orders"][0] // 2
    kafka.commit("billing", {("shopify.orders", 0): committed})
    t0 = clock.now
    clock.advance(15)
    assert collector.cycle().ok

    per_cycle = {
        r[0]: r[1:]
        for r in rows(
            clickhouse,
            "SELECT topic, messages, messages_per_second FROM kafka_topic_messages "
            "WHERE ts = (SELECT max(ts) FROM kafka_partition_offsets)",
        )
    }
    for topic, counts in batch.items():
        assert per_cycle[topic][0] == sum(counts.values())
        assert per_cycle[topic][1] == pytest.approx(sum(counts.values()) / 15)
    per_minute = dict(
        rows(clickhouse, "SELECT topic, sum(messages) FROM kafka_topic_throughput GROUP BY topic")
    )
    assert per_minute == {t: sum(c.values()) for t, c in batch.items()}

    e0, e1 = first[("shopify.orders", 0)], kafka.produced[("shopify.orders", 0)]
    produced_at = t0 + (committed - e0) / (e1 - e0) * 15  # when the log end passed the committed offset
    got = lag_rows(clickhouse, "billing")[("shopify.orders", 0)]
    assert got[3] == e1 - committed
    assert got[5] == pytest.approx(clock.now - produced_at)


def test_recreated_topic_counts_as_a_reset_and_history_survives_a_restart(
    mock_cluster, kafka, clickhouse, chdb_url, clock
) -> None:
    mock_cluster.create_topic("n8n.events", 1, 1)
    kafka.produce("n8n.events", {0: 40})
    kafka.commit("n8n-sink", {("n8n.events", 0): 5})
    first = make_collector(mock_cluster, chdb_url, clickhouse.database, clock, groups=["n8n-sink"])
    for _ in range(2):
        assert first.cycle().ok
        clock.advance(15)
    assert lag_rows(clickhouse, "n8n-sink")[("n8n.events", 0)][6] == st.OK  # 2 samples: not enough evidence
    kafka.produce("n8n.events", {0: 10})

    # A new process: nothing in memory. The status window and end-offset history come back from ClickHouse.
    restarted = make_collector(mock_cluster, chdb_url, clickhouse.database, clock, groups=["n8n-sink"])
    assert restarted.cycle().ok
    latest = lag_rows(clickhouse, "n8n-sink")[("n8n.events", 0)]
    assert latest[6] == st.STALL  # 3 samples of a frozen offset: 2 reloaded + this one
    assert latest[5] is not None  # interpolation history reloaded: lag_seconds known on the first cycle
    assert rows(clickhouse, "SELECT messages FROM kafka_partition_offsets ORDER BY ts DESC LIMIT 1") == [
        (10,)
    ]

    mock_cluster.delete_topic("n8n.events")
    mock_cluster.create_topic("n8n.events", 1, 1)
    kafka.produce("n8n.events", {0: 7})
    clock.advance(15)
    assert restarted.cycle().ok
    # end went 50 → 7: a reset, counted as 7 new messages, never as a negative delta
    assert rows(
        clickhouse, "SELECT log_end_offset, messages FROM kafka_partition_offsets ORDER BY ts DESC LIMIT 1"
    ) == [(7, 7)]
    assert rows(clickhouse, "SELECT sum(messages) FROM kafka_topic_throughput") == [(10 + 7,)]


def test_statuses_over_cycles_match_the_scenario_of_each_group(
    mock_cluster, kafka, clickhouse, chdb_url, clock
) -> None:
    topic = "shopify.orders"
    mock_cluster.create_topic(topic, 1, 1)
    collector = make_collector(
        mock_cluster,
        chdb_url,
        clickhouse.database,
        clock,
        groups=["keeps-up", "stalled", "falls-behind", "rewound"],
    )
    kafka.produce(topic, {0: 30})
    kafka.commit("stalled", {(topic, 0): 3})
    kafka.commit("rewound", {(topic, 0): 25})
    for cycle in range(4):
        end = kafka.produced[(topic, 0)]
        kafka.commit("keeps-up", {(topic, 0): end - (cycle % 2)})  # sometimes 1 behind, sometimes caught up
        kafka.commit("falls-behind", {(topic, 0): 10 + cycle})  # moves by 1 while 5 arrive per cycle
        if cycle == 2:
            kafka.commit("rewound", {(topic, 0): 4})  # reset to an older offset
        assert collector.cycle().ok
        kafka.produce(topic, {0: 5})
        clock.advance(15)

    statuses = {
        g: v[(topic, 0)][6]
        for g in ("keeps-up", "stalled", "falls-behind", "rewound")
        for v in [lag_rows(clickhouse, g)]
    }
    assert statuses == {"keeps-up": st.OK, "stalled": st.STALL, "falls-behind": st.WARN, "rewound": st.REWIND}
    group_status = dict(
        rows(
            clickhouse,
            "SELECT consumer_group, argMax(status, ts) FROM kafka_consumer_groups GROUP BY consumer_group",
        )
    )
    assert group_status == {"keeps-up": st.OK, "stalled": st.ERR, "falls-behind": st.WARN, "rewound": st.ERR}


def test_broker_down_records_the_gap_logs_once_and_the_next_cycle_recovers(
    mock_cluster, kafka, clickhouse, chdb_url, clock, caplog: pytest.LogCaptureFixture
) -> None:
    mock_cluster.create_topic("whatsapp.messages", 2, 3)
    kafka.produce("whatsapp.messages", {0: 4, 1: 6})
    kafka.commit("wa-bot", {("whatsapp.messages", 0): 4, ("whatsapp.messages", 1): 1})
    collector = make_collector(
        mock_cluster, chdb_url, clickhouse.database, clock, groups=["wa-bot"], timeout=1.5
    )
    assert collector.cycle().ok

    mock_cluster.broker_down(-1)
    caplog.set_level(logging.INFO, logger="smarter_obs.collectors.redpanda_lag")
    for _ in range(2):
        clock.advance(15)
        outcome = collector.cycle()
        assert not outcome.ok
        assert mock_cluster.bootstrap in outcome.message
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and mock_cluster.bootstrap in errors[0].getMessage()

    mock_cluster.broker_up(-1)
    clock.advance(15)
    outcome = collector.cycle()
    assert outcome.ok, outcome.message
    cycles = rows(clickhouse, "SELECT ok, error != '', partitions FROM kafka_collector_cycles ORDER BY ts")
    assert cycles == [(True, False, 2), (False, True, 0), (False, True, 0), (True, False, 2)]
    # the two down cycles wrote no data rows: the gap is visible, nothing made up
    assert rows(clickhouse, "SELECT count(DISTINCT ts) FROM kafka_partition_offsets") == [(2,)]
    assert rows(
        clickhouse, "SELECT log_end_offset FROM kafka_partition_offsets ORDER BY ts DESC, partition LIMIT 2"
    ) == [(4,), (6,)]


def test_one_failing_group_never_stops_the_others(mock_cluster, kafka, clickhouse, chdb_url, clock) -> None:
    mock_cluster.create_topic("shopify.orders", 2, 1)
    for p in range(2):
        mock_cluster.set_leader("shopify.orders", p, 1 + p)  # data on brokers 1 and 2
    kafka.produce("shopify.orders", {0: 9, 1: 9})
    kafka.commit("good", {("shopify.orders", 0): 2, ("shopify.orders", 1): 9})
    kafka.commit("bad", {("shopify.orders", 0): 1})
    mock_cluster.set_coordinator("bad", 3)
    mock_cluster.set_coordinator("good", 1)
    collector = make_collector(
        mock_cluster, chdb_url, clickhouse.database, clock, groups=["bad", "good"], timeout=1.5
    )
    mock_cluster.broker_down(3)  # the coordinator of "bad" only

    outcome = collector.cycle()
    assert outcome.ok, outcome.message
    assert {k: v[3] for k, v in lag_rows(clickhouse, "good").items()} == {
        ("shopify.orders", 0): 7,
        ("shopify.orders", 1): 0,
    }
    assert lag_rows(clickhouse, "bad") == {}
    errors = dict(rows(clickhouse, "SELECT consumer_group, error FROM kafka_consumer_groups"))
    assert errors["good"] == "" and "bad" in errors["bad"]
    assert rows(clickhouse, "SELECT groups, groups_failed FROM kafka_collector_cycles") == [(2, 1)]


def test_slow_brokers_fail_the_cycle_within_the_timeout_and_the_next_cycle_recovers(
    mock_cluster, kafka, clickhouse, chdb_url, clock
) -> None:
    mock_cluster.create_topic("n8n.events", 2, 1)
    kafka.produce("n8n.events", {0: 3, 1: 4})
    collector = make_collector(mock_cluster, chdb_url, clickhouse.database, clock, groups=["g"], timeout=1.0)
    for broker in mock_cluster.broker_ids:
        mock_cluster.set_rtt(broker, 4000)  # every response 4 s late, the timeout is 1 s
    outcome = collector.cycle()
    assert not outcome.ok and mock_cluster.bootstrap in outcome.message
    for broker in mock_cluster.broker_ids:
        mock_cluster.set_rtt(broker, 0)
    clock.advance(15)
    outcome = collector.cycle()
    assert outcome.ok, outcome.message
    assert rows(clickhouse, "SELECT ok FROM kafka_collector_cycles ORDER BY ts") == [(False,), (True,)]
    assert rows(
        clickhouse, "SELECT partition, log_end_offset FROM kafka_partition_offsets ORDER BY partition"
    ) == [(0, 3), (1, 4)]


def test_state_of_deleted_topics_is_forgotten(mock_cluster, kafka, clickhouse, chdb_url, clock) -> None:
    mock_cluster.create_topic("n8n.events", 2, 1)
    mock_cluster.create_topic("n8n.tmp", 3, 1)
    kafka.commit("g", {("n8n.events", 0): 0, ("n8n.tmp", 0): 0})
    collector = make_collector(mock_cluster, chdb_url, clickhouse.database, clock, groups=["g"])
    assert collector.cycle().ok
    assert len(collector.tables) == 5 and len(collector.windows) == 5
    mock_cluster.delete_topic("n8n.tmp")
    clock.advance(15)
    assert collector.cycle().ok
    assert set(collector.tables) == {("n8n.events", 0), ("n8n.events", 1)}
    assert set(collector.windows) == {("g", "n8n.events", 0), ("g", "n8n.events", 1)}


def test_a_subscribed_consumer_group_that_consumed_part_of_a_topic(
    mock_cluster, kafka, clickhouse, chdb_url, clock
) -> None:
    from confluent_kafka import Consumer

    mock_cluster.create_topic("chatwoot.events", 2, 1)
    kafka.produce("chatwoot.events", {0: 12, 1: 8})
    consumer = Consumer(
        {
            "bootstrap.servers": mock_cluster.bootstrap,
            "group.id": "chatwoot-indexer",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
            "log_level": 2,
        }
    )
    try:
        consumer.subscribe(["chatwoot.events"])
        consumed = 0
        for _ in range(200):
            msg = consumer.poll(0.1)
            if msg is not None and msg.error() is None:
                consumed += 1
                if consumed == 15:
                    break
        assert consumed == 15
        consumer.commit(asynchronous=False)  # commits the position of every assigned partition
        positions = {tp.partition: tp.offset for tp in consumer.position(consumer.assignment())}
    finally:
        consumer.close()
    collector = make_collector(
        mock_cluster, chdb_url, clickhouse.database, clock, groups=["chatwoot-indexer"]
    )
    assert collector.cycle().ok
    got = lag_rows(clickhouse, "chatwoot-indexer")
    assert sum(positions.values()) == 15
    assert {k[1]: v[0] for k, v in got.items()} == positions
    assert sum(v[3] for v in got.values()) == 20 - 15


def test_no_matching_topic_still_reports_the_named_groups(
    mock_cluster, kafka, clickhouse, chdb_url, clock, caplog: pytest.LogCaptureFixture
) -> None:
    mock_cluster.create_topic("n8n.events", 1, 1)
    collector = make_collector(
        mock_cluster, chdb_url, clickhouse.database, clock, groups=["g"], topics=[r"shopify\..*"]
    )
    caplog.set_level(logging.WARNING, logger="smarter_obs.collectors.redpanda_lag")
    assert collector.cycle().ok
    assert "no topic" in caplog.text and r"shopify\..*" in caplog.text
    assert rows(
        clickhouse, "SELECT consumer_group, status, partitions, error FROM kafka_consumer_groups"
    ) == [("g", st.NOTFOUND, 0, "")]


def test_partitions_led_by_a_down_broker_are_left_out_and_counted(
    mock_cluster, kafka, clickhouse, chdb_url, clock
) -> None:
    mock_cluster.create_topic("whatsapp.messages", 2, 1)
    mock_cluster.set_leader("whatsapp.messages", 0, 1)
    mock_cluster.set_leader("whatsapp.messages", 1, 3)
    kafka.produce("whatsapp.messages", {0: 5, 1: 6})
    kafka.commit("wa-bot", {("whatsapp.messages", 0): 1, ("whatsapp.messages", 1): 2})
    mock_cluster.set_coordinator("wa-bot", 2)
    collector = make_collector(
        mock_cluster, chdb_url, clickhouse.database, clock, groups=["wa-bot"], timeout=1.5
    )
    mock_cluster.broker_down(3)
    outcome = collector.cycle()
    assert outcome.ok, outcome.message
    assert rows(clickhouse, "SELECT partition, log_end_offset FROM kafka_partition_offsets") == [(0, 5)]
    assert {k: v[3] for k, v in lag_rows(clickhouse, "wa-bot").items()} == {("whatsapp.messages", 0): 4}
    assert rows(clickhouse, "SELECT partitions, partitions_failed FROM kafka_collector_cycles") == [(1, 1)]


def test_messages_produced_while_clickhouse_refused_writes_are_counted_once_it_is_back(
    mock_cluster, kafka, clickhouse, chdb_url, clock, rng: random.Random
) -> None:
    mock_cluster.create_topic("shopify.orders", 2, 1)
    kafka.produce("shopify.orders", {0: 3, 1: 3})
    collector = make_collector(mock_cluster, chdb_url, clickhouse.database, clock, groups=["g"])
    assert collector.cycle().ok

    during = {p: rng.randint(1, 30) for p in range(2)}
    kafka.produce("shopify.orders", during)
    clickhouse.command("RENAME TABLE kafka_partition_offsets TO kafka_partition_offsets_away")
    clock.advance(15)
    assert not collector.cycle().ok  # the cycle's partition rows are lost
    clickhouse.command("RENAME TABLE kafka_partition_offsets_away TO kafka_partition_offsets")

    after = {p: rng.randint(1, 30) for p in range(2)}
    kafka.produce("shopify.orders", after)
    clock.advance(15)
    assert collector.cycle().ok
    stored = rows(
        clickhouse,
        "SELECT partition, messages, interval_seconds FROM kafka_partition_offsets "
        "WHERE messages > 0 ORDER BY partition",
    )
    # counted from the last stored sample: nothing produced during the outage is missing
    assert stored == [(p, during[p] + after[p], 30.0) for p in range(2)]
