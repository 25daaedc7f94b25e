"""Event Stream Flow: every panel's query on the lag collector's seeded rows equals what was produced and
committed on the mock cluster, computed in Python from the seeding log."""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta

import pytest

from smarter_obs.dashboards import run_query
from smarter_obs.dashboards.query import panel_sql
from smarter_obs.dashboards.timerange import TimeRange
from tests.dashboards import seed
from tests.dashboards.expect import assert_shape, bucket, rows_by

SLUG = "event-stream"
RANGE = TimeRange.parse(seed.LAG_START, seed.LAG_START + timedelta(minutes=30))


def _run(project, seeded, panel, variables=None, time_range=RANGE):
    result = run_query(
        project, SLUG, panel, time_range=time_range, variables=variables, datasources=seeded.datasources
    )
    assert_shape(project.dashboard(SLUG).panel(panel), result)
    return result


def _cycles(kafka, time_range=RANGE):
    return [k for k, t in enumerate(kafka.times) if time_range.start <= t <= time_range.end]


def _produced(kafka, k, key):
    """Records produced into a partition since the previous sample (the collector's `messages`)."""
    return 0 if k == 0 else kafka.ends[k][key] - kafka.ends[k - 1][key]


def test_every_panel_has_the_shape_it_draws_and_data(project, seeded):
    for panel in project.dashboard(SLUG).panels:
        assert _run(project, seeded, panel.id).rows, panel.title


@pytest.mark.parametrize(
    ("variables", "keep"),
    [
        (None, lambda topic: True),
        ({"family": "whatsapp"}, lambda topic: topic.startswith("whatsapp.")),
        (
            {"topic": ["shopify.orders", "n8n.events"]},
            lambda topic: topic in ("shopify.orders", "n8n.events"),
        ),
    ],
)
def test_messages_per_topic_and_producer_throughput(project, seeded, variables, keep):
    kafka = seeded.kafka
    expected = defaultdict(int)
    for k in _cycles(kafka):
        for key in kafka.ends[k]:
            if keep(key[0]):
                expected[(bucket(kafka.times[k], 60), key[0])] += _produced(kafka, k, key)
    messages = rows_by(_run(project, seeded, 1, variables), "time", "topic")
    throughput = rows_by(_run(project, seeded, 2, variables), "time", "topic")
    assert set(messages) == set(expected) == set(throughput)
    for key, records in expected.items():
        assert messages[key]["records"] == records
        assert throughput[key]["records_per_second"] == pytest.approx(records / 60)  # 1-minute buckets


def _lag(kafka, k, group, topic):
    keys = [key for key in kafka.ends[k] if key[0] == topic and key in kafka.commits[k][group]]
    return sum(kafka.lag(k, group, key) for key in keys) if keys else None


@pytest.mark.parametrize("hours", [0.5, 12])
def test_consumer_lag_per_group_and_topic(project, seeded, hours):
    # 240 points: 30 min → 10 s buckets (a cycle each); 12 h → 2 m buckets of four cycles, the highest shown
    kafka = seeded.kafka
    time_range = TimeRange.parse(seed.LAG_START, seed.LAG_START + timedelta(hours=hours))
    seconds = panel_sql(project, SLUG, 3, time_range=time_range).context.interval.ms // 1000
    assert seconds == (10 if hours == 0.5 else 120)
    expected = {}
    for k in _cycles(kafka, time_range):
        for group, topics in seed.GROUPS.items():
            for topic in topics:
                lag = _lag(kafka, k, group, topic)
                if lag is not None:
                    key = (bucket(kafka.times[k], seconds), group, topic)
                    expected[key] = max(expected.get(key, 0), lag)
    got = rows_by(_run(project, seeded, 3, time_range=time_range), "time", "consumer_group", "topic")
    assert set(got) == set(expected)
    assert all(got[key]["records"] == lag for key, lag in expected.items())
    assert max(expected.values()) > 0 and "reporting" not in {key[1] for key in got}  # never committed


def test_consumer_lag_in_seconds(project, seeded):
    kafka = seeded.kafka
    seconds = panel_sql(project, SLUG, 4, time_range=RANGE).context.interval.ms // 1000
    expected = {}
    for k in _cycles(kafka):
        for group, topics in seed.GROUPS.items():
            for topic in topics:
                values = []
                for key, committed in kafka.commits[k][group].items():
                    if key[0] != topic:
                        continue
                    if committed >= kafka.ends[k][key]:
                        values.append(0.0)  # caught up
                    elif k > 0:  # the log end was at the commit when cycle j sampled it
                        j = kafka.commit_cycle[k][group][key]
                        values.append((kafka.times[k] - kafka.times[j]).total_seconds())
                if values:
                    key = (bucket(kafka.times[k], seconds), group, topic)
                    expected[key] = max(expected.get(key, 0.0), *values)
    got = rows_by(_run(project, seeded, 4), "time", "consumer_group", "topic")
    assert set(got) == set(expected)
    for key, value in expected.items():
        assert got[key]["seconds"] == pytest.approx(value), key
    assert max(expected.values()) >= 300  # analytics stalled for ten minutes and more


def test_partition_distribution_per_leader_and_topic(project, seeded):
    kafka = seeded.kafka
    last = _cycles(kafka)[-1]
    per_broker = defaultdict(int)
    for _key, broker in kafka.leaders[last].items():
        per_broker[f"broker {broker}"] += 1
    result = _run(project, seeded, 5)
    assert {row[0]: row[1] for row in result.rows} == per_broker
    # the first half of the range still had whatsapp.messages/0 on its old leader
    early = TimeRange.parse(seed.LAG_START, seed.LAG_START + timedelta(seconds=seed.LAG_INTERVAL * 5))
    before = defaultdict(int)
    for broker in kafka.leaders[5].values():
        before[f"broker {broker}"] += 1
    assert {row[0]: row[1] for row in _run(project, seeded, 5, time_range=early).rows} == before != per_broker
    topics = rows_by(_run(project, seeded, 6), "topic")
    assert {t: r["partitions"] for t, r in topics.items()} == seed.TOPICS
    for topic, record in topics.items():
        assert record["leaders"] == len({b for (t, _p), b in kafka.leaders[last].items() if t == topic})
        assert record["without_leader"] == 0


def test_consumer_group_status_table(project, seeded):
    kafka = seeded.kafka
    last = _cycles(kafka)[-1]
    result = _run(project, seeded, 7)
    groups = rows_by(result, "consumer_group")
    # Burrow-style outcome of each group's behaviour, worst first
    assert [row[0] for row in result.rows] == ["analytics", "chatwoot-sync", "reporting", "n8n-workers"]
    assert (groups["analytics"]["status"], groups["analytics"]["worst_partition_status"]) == ("ERR", "STALL")
    assert groups["chatwoot-sync"]["status"] == "WARN"
    assert groups["reporting"]["status"] == "NOTFOUND"
    assert groups["n8n-workers"]["status"] == "OK"
    for group, topics in seed.GROUPS.items():
        lags = [kafka.lag(last, group, key) for key in kafka.ends[last] if key[0] in topics]
        record = groups[group]
        assert record["total_lag"] == sum(lag for lag in lags if lag is not None)
        assert record["max_lag"] == max((lag for lag in lags if lag is not None), default=0)
        assert record["partitions_with_commit"] == len(kafka.commits[last][group])
    assert groups["reporting"]["partitions"] == sum(seed.TOPICS.values())  # reported on every topic


def test_filters_and_variable_options(project, seeded):
    from smarter_obs.dashboards.query import build_context

    context = build_context(project, project.dashboard(SLUG), None, time_range=RANGE,
                            variables={"family": "whatsapp"}, datasources=seeded.datasources)  # fmt: skip
    assert [c.value for c in context.options["cluster"]] == [seed.CLUSTER]
    assert [c.value for c in context.options["topic"]] == ["whatsapp.messages", "whatsapp.status"]
    assert [c.value for c in context.options["consumer_group"]] == sorted(seed.GROUPS)
    lag = _run(project, seeded, 3, {"consumer_group": "chatwoot-sync", "cluster": seed.CLUSTER})
    assert {row[1] for row in lag.rows} == {"chatwoot-sync"}
    none = _run(project, seeded, 1, {"cluster": "staging"})
    assert none.rows == []
