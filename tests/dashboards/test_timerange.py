"""Times (ISO-8601, Grafana date math) and the interval Grafana picks for a range."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from smarter_obs.dashboards.timerange import (
    TimeRange,
    TimeRangeError,
    calculate_interval,
    format_interval,
    interval_to_ms,
    parse_time,
    resolution_for,
    round_interval,
)

NOW = datetime(2025, 1, 8, 13, 45, 10, 250000, tzinfo=UTC)  # a Wednesday


@pytest.mark.parametrize(
    ("text", "round_up", "expected"),
    [
        ("now", False, NOW),
        ("now-7d", False, datetime(2025, 1, 1, 13, 45, 10, 250000, tzinfo=UTC)),
        ("now-90m", False, datetime(2025, 1, 8, 12, 15, 10, 250000, tzinfo=UTC)),
        ("now/d", False, datetime(2025, 1, 8, tzinfo=UTC)),
        ("now/d", True, datetime(2025, 1, 8, 23, 59, 59, 999000, tzinfo=UTC)),
        ("now-1d/d", False, datetime(2025, 1, 7, tzinfo=UTC)),
        ("now/w", False, datetime(2025, 1, 6, tzinfo=UTC)),
        ("now-1M/M", False, datetime(2024, 12, 1, tzinfo=UTC)),
        ("now-1y", False, datetime(2024, 1, 8, 13, 45, 10, 250000, tzinfo=UTC)),
        ("now+1h", False, datetime(2025, 1, 8, 14, 45, 10, 250000, tzinfo=UTC)),
        ("2025-01-06", False, datetime(2025, 1, 6, tzinfo=UTC)),
        ("2025-01-06T12:30:00Z", False, datetime(2025, 1, 6, 12, 30, tzinfo=UTC)),
        ("2025-01-06T12:30:00-03:00", False, datetime(2025, 1, 6, 15, 30, tzinfo=UTC)),
    ],
)
def test_parse_time(text, round_up, expected):
    assert parse_time(text, now=NOW, round_up=round_up) == expected


@pytest.mark.parametrize("text", ["yesterday", "now-7x", "now-", "2025-13-01", "now/q"])
def test_bad_times_name_both_forms(text):
    with pytest.raises(TimeRangeError, match="ISO-8601.*now-7d"):
        parse_time(text, now=NOW)


def test_a_range_must_not_end_before_it_starts():
    with pytest.raises(TimeRangeError, match="ends"):
        TimeRange.parse("now", "now-1h", now=NOW)
    today = TimeRange.parse("now/d", "now/d", now=NOW)
    assert today.duration_ms == 86_399_999


@pytest.mark.parametrize(
    ("ms", "rounded"),
    [(5, 1), (12, 10), (40, 50), (1200, 1000), (45000, 60000), (89999, 60000), (90000, 120000),
     (630000, 600000), (3_000_000, 3_600_000), (90_000_000, 86_400_000), (4e9, 31_536_000_000)],
)  # fmt: skip
def test_round_interval_is_grafanas(ms, rounded):
    assert round_interval(ms) == rounded


@pytest.mark.parametrize(
    ("ms", "text"),
    [(1, "1ms"), (500, "500ms"), (1000, "1s"), (90000, "1m"), (3_600_000, "1h"), (86_400_000, "1d"),
     (604_800_000, "7d"), (31_536_000_000, "1y")],
)  # fmt: skip
def test_format_interval_is_seconds_to_hms(ms, text):
    assert format_interval(ms) == text


@pytest.mark.parametrize(("text", "ms"), [("1m", 60000), ("30s", 30000), ("1h", 3600000), ("2d", 172800000),
                                          ("15", 15000), ("100ms", 100), ("1.5m", 60000)])  # fmt: skip
def test_interval_to_ms(text, ms):
    assert interval_to_ms(text) == ms


def test_calculate_interval_uses_max_data_points_or_width_and_the_minimum():
    day = TimeRange.parse("2025-01-06", "2025-01-07")
    assert (
        resolution_for(12, None) == 960
        and resolution_for(None, None) == 1920
        and resolution_for(6, 100) == 100
    )
    assert calculate_interval(day, 960).text == "2m"  # 90 s
    assert calculate_interval(day, 1920).text == "1m"  # 45 s
    assert calculate_interval(day, 100).text == "15m"  # 864 s
    hour = TimeRange.parse("2025-01-06T00:00:00Z", "2025-01-06T01:00:00Z")
    assert calculate_interval(hour, 960).ms == 5000
    assert calculate_interval(hour, 960, "1m").ms == 60000
    # every interval Grafana rounds to from a minute up is whole minutes: a bucket never splits a minute
    assert all(round_interval(ms) % 60000 == 0 for ms in range(45000, 4 * 10**9, 7919))
