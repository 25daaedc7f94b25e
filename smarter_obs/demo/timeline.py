"""When SmarterOS traffic happens: a Chilean small business's day and week.

Customers write and buy during the day in America/Santiago (UTC-3 in summer), most between 9:00 and 21:00,
less at weekends and very little at night. Every generator samples its event times from :func:`activity`,
so the dashboards' time series show days and nights.
"""

from __future__ import annotations

import bisect
import random
from datetime import UTC, datetime, timedelta

__all__ = ["UTC_OFFSET_HOURS", "activity", "sample_times"]

UTC_OFFSET_HOURS = -3
# relative activity per local hour (0..23)
_HOURLY = (
    0.15, 0.1, 0.07, 0.05, 0.05, 0.08, 0.2, 0.45, 0.8, 1.3, 1.6, 1.7,
    1.5, 1.25, 1.4, 1.55, 1.6, 1.5, 1.35, 1.3, 1.2, 0.9, 0.55, 0.3,
)  # fmt: skip
_WEEKEND = 0.6


def activity(ts: float) -> float:
    """Relative traffic at epoch second ``ts`` (about 1.0 in a busy hour)."""
    local = datetime.fromtimestamp(ts, UTC) + timedelta(hours=UTC_OFFSET_HOURS)
    factor = _HOURLY[local.hour]
    return factor * (_WEEKEND if local.weekday() >= 5 else 1.0)


def sample_times(rng: random.Random, count: int, start: float, end: float) -> list[float]:
    """``count`` sorted epoch seconds in ``[start, end)`` distributed like :func:`activity`."""
    step = 300.0  # five-minute cells, weighted by their activity
    cells = [start + i * step for i in range(max(int((end - start) // step), 1))]
    cumulative, total = [], 0.0
    for cell in cells:
        total += activity(cell)
        cumulative.append(total)
    out = []
    for _ in range(count):
        index = bisect.bisect_left(cumulative, rng.random() * total)
        cell = cells[min(index, len(cells) - 1)]
        out.append(min(cell + rng.random() * step, end - 0.001))
    return sorted(out)
