"""Lag in seconds by interpolation over end-offset history (pure)."""

from __future__ import annotations

import random
from itertools import pairwise

import pytest

from smarter_obs.collectors.redpanda_lag.lag_time import OffsetTimeTable


def _produce_history(seed: int, samples: int = 40, interval: float = 15.0):
    """A partition whose producer rate changes every sample; returns the table and the true offset → time."""
    rng = random.Random(seed)
    table = OffsetTimeTable(max_points=samples + 5)
    t, end = 1_000.0, 0
    points = [(end, t)]
    table.add(end, t)
    for _ in range(samples):
        rate = rng.choice([0, 0, 1, 5, 20])  # messages per second, with quiet stretches
        t += interval
        end += int(rate * interval)
        table.add(end, t)
        points.append((end, t))
    return table, points, t


def _true_time(points, offset):
    """When the log end passed ``offset`` given a constant rate between samples (the generator's truth)."""
    for (o0, t0), (o1, t1) in pairwise(points):
        if o0 <= offset < o1:
            return t0 + (offset - o0) * (t1 - t0) / (o1 - o0)
    raise AssertionError("offset outside history")


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_lag_seconds_matches_generated_truth_for_every_offset_in_history(seed: int) -> None:
    table, points, now = _produce_history(seed)
    end = points[-1][0]
    for committed in range(points[0][0], end, max(end // 97, 1)):
        assert table.lag_seconds(committed, now) == pytest.approx(now - _true_time(points, committed))


def test_caught_up_consumer_has_zero_lag_and_one_point_is_not_enough() -> None:
    table = OffsetTimeTable()
    table.add(100, 10.0)
    assert table.lag_seconds(100, 50.0) == 0.0
    assert table.lag_seconds(40, 50.0) is None  # one point: no rate yet → unknown, never NaN
    table.add(160, 40.0)
    assert table.lag_seconds(160, 50.0) == 0.0
    assert table.lag_seconds(130, 50.0) == pytest.approx(50.0 - 25.0)


def test_flat_runs_keep_their_last_time_so_lag_counts_from_when_the_head_moved_on() -> None:
    table = OffsetTimeTable(max_points=4)
    table.add(0, 0.0)
    table.add(10, 10.0)
    for t in range(20, 200, 10):  # a quiet topic: end offset stays at 10 for a long time
        table.add(10, float(t))
    assert len(table) == 3  # the flat run is two points whatever its length
    table.add(20, 200.0)
    # offset 10 was the head until t=190, then the log moved on: half way to 20 at 195
    assert table.time_at(10) == pytest.approx(190.0)
    assert table.time_at(15) == pytest.approx(195.0)
    assert table.lag_seconds(15, 210.0) == pytest.approx(15.0)


def test_older_offset_than_history_is_extrapolated_from_the_table_rate() -> None:
    table = OffsetTimeTable(max_points=3)
    for i in range(6):
        table.add(i * 10, i * 10.0)  # 1 message per second; the table keeps only the last 3 points
    assert table.offsets == [30, 40, 50]
    assert table.lag_seconds(5, 50.0) == pytest.approx(45.0)


def test_no_movement_at_all_leaves_lag_unknown() -> None:
    table = OffsetTimeTable()
    table.add(50, 0.0)
    table.add(50, 30.0)
    assert table.lag_seconds(10, 60.0) is None
    assert table.lag_seconds(50, 60.0) == 0.0


def test_end_offset_going_back_restarts_the_history() -> None:
    table = OffsetTimeTable()
    table.add(500, 0.0)
    table.add(600, 10.0)
    table.add(20, 20.0)  # topic recreated
    assert table.offsets == [20]
    assert table.lag_seconds(10, 30.0) is None


def test_points_older_than_the_last_are_ignored() -> None:
    table = OffsetTimeTable()
    table.add(10, 10.0)
    table.add(20, 20.0)
    table.add(15, 15.0)  # reloaded history overlapping live samples
    assert table.offsets == [10, 20]
