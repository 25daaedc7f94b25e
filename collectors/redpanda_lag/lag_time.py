"""Consumer lag in seconds by interpolation over the history of a partition's log end offset.

The kafka-lag-exporter method (``LookupTable.scala``): keep a bounded table of ``(end offset, time)`` points
per partition; for a committed offset ``c`` find when the log end was at ``c`` by linear interpolation
between the two points that bracket it (extrapolating from the table's overall rate when ``c`` is older
than the first point). ``lag_seconds = now − that time``: how long ago the consumer's position was the head
of the log. Pure code, no I/O.
"""

from __future__ import annotations

from bisect import bisect_right

#: Points kept per partition (flat runs take two points whatever their length).
DEFAULT_MAX_POINTS = 60


class OffsetTimeTable:
    """The ``(end offset, time)`` history of one partition, oldest first, offsets non-decreasing.

    A run of samples with the same end offset is kept as its first and last point, so a quiet topic does
    not push its history out of the table. An end offset lower than the last one (topic recreated,
    truncated) means the old history is meaningless: the table restarts.
    """

    __slots__ = ("_max", "offsets", "times")

    def __init__(self, max_points: int = DEFAULT_MAX_POINTS) -> None:
        if max_points < 2:
            raise ValueError("an offset/time table needs at least 2 points to interpolate")
        self._max = max_points
        self.offsets: list[int] = []
        self.times: list[float] = []

    def __len__(self) -> int:
        return len(self.offsets)

    def add(self, end_offset: int, ts: float) -> None:
        """Record that the log end offset was ``end_offset`` at ``ts`` (seconds); ``ts`` must not go back."""
        offsets, times = self.offsets, self.times
        if offsets:
            if ts < times[-1]:
                return  # an out-of-order point (reloaded history overlapping a live sample) adds nothing
            if end_offset < offsets[-1]:
                offsets.clear()
                times.clear()
            elif end_offset == offsets[-1] and len(offsets) >= 2 and offsets[-2] == end_offset:
                times[-1] = ts  # extend the flat run: keep its first and its latest point
                return
        offsets.append(end_offset)
        times.append(ts)
        if len(offsets) > self._max:
            del offsets[0], times[0]

    def time_at(self, offset: int) -> float | None:
        """When the log end was at ``offset`` (interpolated), or None when the table cannot tell."""
        offsets, times = self.offsets, self.times
        n = len(offsets)
        if n < 2:
            return None
        if offset >= offsets[-1]:
            return times[-1]
        if offset < offsets[0]:
            span = offsets[-1] - offsets[0]
            if span <= 0:
                return None  # no movement in the table: no rate to extrapolate with
            rate = (times[-1] - times[0]) / span
            return times[0] - (offsets[0] - offset) * rate
        # The last point whose offset is <= ``offset``: the end of a flat run at that offset, i.e. the last
        # time the log end was still there. Its successor has a larger offset.
        i = bisect_right(offsets, offset) - 1
        lo_o, lo_t, hi_o, hi_t = offsets[i], times[i], offsets[i + 1], times[i + 1]
        return lo_t + (offset - lo_o) * (hi_t - lo_t) / (hi_o - lo_o)

    def lag_seconds(self, committed: int, now: float) -> float | None:
        """Seconds the consumer at ``committed`` is behind the log head; 0 when caught up, None if unknown."""
        if self.offsets and committed >= self.offsets[-1]:
            return 0.0
        at = self.time_at(committed)
        if at is None:
            return None
        return max(now - at, 0.0)
