"""Time ranges and the interval Grafana picks for them.

Times are ISO-8601 (``2025-01-06``, ``2025-01-06T12:00:00Z``, a naive time is UTC) or Grafana date math
(``now``, ``now-7d``, ``now/d``, ``now-1d/d``, units ``s m h d w M y``), rounded in UTC. As in Grafana, a
rounded *end* goes to the end of the unit (``now/d`` as ``--to`` is today 23:59:59.999).

The interval follows Grafana's ``rangeUtil.calculateInterval``: ``roundInterval((to - from) /
resolution)``, raised to the panel's minimum interval (or the datasource's), where the resolution is the
panel's ``maxDataPoints`` or else its width in pixels.
"""

from __future__ import annotations

import calendar
import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from smarter_obs.dashboards.errors import DashboardError

__all__ = [
    "DEFAULT_DASHBOARD_WIDTH_PX",
    "Interval",
    "TimeRange",
    "TimeRangeError",
    "calculate_interval",
    "format_interval",
    "interval_to_ms",
    "parse_time",
    "resolution_for",
    "round_interval",
]

#: Width in pixels assumed for a dashboard when a panel sets no ``max_data_points`` (a full-HD screen).
DEFAULT_DASHBOARD_WIDTH_PX = 1920

_MATH_RE = re.compile(r"([+-])(\d+)([smhdwMy])|/([smhdwMy])")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


class TimeRangeError(DashboardError, ValueError):
    """A time that is neither ISO-8601 nor Grafana date math, or a range that ends before it starts."""


def _add_months(t: datetime, months: int) -> datetime:
    month = t.month - 1 + months
    year = t.year + month // 12
    month = month % 12 + 1
    day = min(t.day, calendar.monthrange(year, month)[1])
    return t.replace(year=year, month=month, day=day)


def _round(t: datetime, unit: str, up: bool) -> datetime:
    if unit == "y":
        start = t.replace(month=1, day=1, hour=0, minute=0, second=0, microsecond=0)
        end = start.replace(year=start.year + 1)
    elif unit == "M":
        start = t.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        end = _add_months(start, 1)
    elif unit == "w":  # ISO weeks start on Monday (Grafana's default week start)
        day = t.replace(hour=0, minute=0, second=0, microsecond=0)
        start = day - timedelta(days=day.weekday())
        end = start + timedelta(days=7)
    else:
        seconds = _UNIT_SECONDS[unit]
        epoch = int(t.timestamp())
        start = datetime.fromtimestamp(epoch - epoch % seconds, UTC)
        end = start + timedelta(seconds=seconds)
    return end - timedelta(milliseconds=1) if up else start


def parse_time(text: str | datetime, *, now: datetime | None = None, round_up: bool = False) -> datetime:
    """A timezone-aware UTC datetime from ISO-8601 or Grafana date math (``now-7d``, ``now/d``)."""
    if isinstance(text, datetime):
        return text if text.tzinfo else text.replace(tzinfo=UTC)
    raw = str(text).strip()
    now = now or datetime.now(UTC)
    if raw.startswith("now"):
        t = now.astimezone(UTC)
        rest = raw[3:]
        position = 0
        for match in _MATH_RE.finditer(rest):
            if match.start() != position:
                break
            position = match.end()
            sign, amount, unit, round_unit = match.groups()
            if round_unit:
                t = _round(t, round_unit, round_up)
            elif unit in ("M", "y"):
                months = int(amount) * (12 if unit == "y" else 1)
                t = _add_months(t, months if sign == "+" else -months)
            else:
                delta = timedelta(seconds=int(amount) * _UNIT_SECONDS[unit])
                t = t + delta if sign == "+" else t - delta
        if position == len(rest):
            return t
    else:
        try:
            parsed = datetime.fromisoformat(raw.replace("Z", "+00:00") if raw.endswith("Z") else raw)
        except ValueError:
            pass
        else:
            return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    raise TimeRangeError(
        f"{raw!r} is not a time: use ISO-8601 (2025-01-06, 2025-01-06T12:00:00Z) or Grafana-style "
        "now, now-7d, now-1h, now/d, now-1d/d"
    )


@dataclass(frozen=True)
class TimeRange:
    """A resolved range ``[start, end]`` (UTC) with the text it came from."""

    start: datetime
    end: datetime
    raw_from: str = ""
    raw_to: str = ""

    @classmethod
    def parse(
        cls, start: str | datetime, end: str | datetime = "now", *, now: datetime | None = None
    ) -> TimeRange:
        now = now or datetime.now(UTC)
        t0 = parse_time(start, now=now)
        t1 = parse_time(end, now=now, round_up=True)
        if t1 < t0:
            raise TimeRangeError(f"the range ends ({t1.isoformat()}) before it starts ({t0.isoformat()})")
        return cls(t0, t1, str(start), str(end))

    @property
    def from_ms(self) -> int:
        return int(self.start.timestamp() * 1000)

    @property
    def to_ms(self) -> int:
        return int(self.end.timestamp() * 1000)

    @property
    def duration_ms(self) -> int:
        return self.to_ms - self.from_ms


@dataclass(frozen=True)
class Interval:
    """The interval of a query: milliseconds and Grafana's text form (``1m``, ``30s``, ``1d``)."""

    ms: int

    @property
    def seconds(self) -> float:
        return self.ms / 1000.0

    @property
    def text(self) -> str:
        return format_interval(self.ms)


def round_interval(ms: float) -> int:
    """Grafana's ``roundInterval``: the "nice" interval for a raw interval in milliseconds."""
    steps = (
        (10, 1), (15, 10), (35, 20), (75, 50), (150, 100), (350, 200), (750, 500), (1500, 1000),
        (3500, 2000), (7500, 5000), (12500, 10000), (17500, 15000), (25000, 20000), (45000, 30000),
        (90000, 60000), (210000, 120000), (450000, 300000), (750000, 600000), (1050000, 900000),
        (1500000, 1200000), (2700000, 1800000), (5400000, 3600000), (9000000, 7200000),
        (16200000, 10800000), (32400000, 21600000), (86400000, 43200000), (604800000, 86400000),
        (1814400000, 604800000), (3628800000, 2592000000),
    )  # fmt: skip
    for limit, value in steps:
        if ms < limit:
            return value
    return 31536000000


_INTERVAL_RE = re.compile(r"^(-?\d+(?:\.\d+)?)(ms|[Mwdhmsy])")
_INTERVAL_SECONDS = {
    "y": 31536000,
    "M": 2592000,
    "w": 604800,
    "d": 86400,
    "h": 3600,
    "m": 60,
    "s": 1,
    "ms": 0.001,
}


def interval_to_ms(text: str) -> int:
    """Grafana's ``intervalToMs`` (``"1m"`` → 60000; a bare number is seconds; fractions are truncated)."""
    raw = str(text).strip()
    try:
        number = float(raw)
    except ValueError:
        number = None
    if number:
        return int(int(number) * 1000)
    match = _INTERVAL_RE.match(raw)
    if not match:
        raise TimeRangeError(f"{text!r} is not an interval: use e.g. 10s, 1m, 5m, 1h, 1d")
    return int(_INTERVAL_SECONDS[match.group(2)] * 1000 * int(float(match.group(1))))


def format_interval(ms: int) -> str:
    """Grafana's ``secondsToHms`` of ``ms / 1000`` (the text of ``$__interval``): its largest whole unit."""
    seconds = ms / 1000.0
    years = math.floor(seconds / 31536000)
    days = math.floor((seconds % 31536000) / 86400)
    hours = math.floor((seconds % 31536000 % 86400) / 3600)
    minutes = math.floor((seconds % 31536000 % 86400 % 3600) / 60)
    whole_seconds = math.floor(seconds % 31536000 % 86400 % 3600 % 60)
    for count, unit in ((years, "y"), (days, "d"), (hours, "h"), (minutes, "m"), (whole_seconds, "s")):
        if count:
            return f"{count}{unit}"
    millis = math.floor(seconds * 1000.0)
    return f"{millis}ms" if millis else "less than a millisecond"


def resolution_for(layout_width: int | None, max_data_points: int | None) -> int:
    """Grafana's resolution: ``maxDataPoints`` when set, else the panel's width in pixels (24-column grid
    on a :data:`DEFAULT_DASHBOARD_WIDTH_PX` wide dashboard)."""
    if max_data_points:
        return max_data_points
    columns = layout_width or 24
    return max(int(round(DEFAULT_DASHBOARD_WIDTH_PX * columns / 24)), 1)


def calculate_interval(time_range: TimeRange, resolution: int, min_interval: str | None = None) -> Interval:
    """Grafana's ``calculateInterval``: the rounded range / resolution, at least ``min_interval``."""
    low = interval_to_ms(min_interval) if min_interval else 1
    ms = round_interval(time_range.duration_ms / max(resolution, 1))
    return Interval(max(ms, low))
