"""Burrow-style consumer status over a sliding window of samples. Pure code, no I/O.

Burrow (linkedin/Burrow ``evaluator/caching.go``) evaluates the last N *commits* of each partition. This
collector polls instead: a sample is (cycle time, committed offset, lag) every interval, so Burrow's rules are
applied to the last N samples, with one adaptation (``docs/redpanda.md``, "Status"):

STOP in Burrow means "no commit for longer than the window spans", known from commit timestamps, which the
OffsetFetch API does not return. Here STOP means the committed offset did not move over the window while
lag > 0 *and* the group is known to have no members (group state Empty/Dead). When membership is unknown
(brokers without DescribeGroups) or members are present, a frozen offset is STALL.

Partition rules, first match wins:

0. current lag <= allowed lag                                   → OK
-. fewer than ``min_samples`` committed samples in the window   → OK (not enough evidence, like Burrow's
   ``minimum-complete``)
1. offset unchanged over the window, lag > 0, group inactive    → STOP
2. offset went below an earlier value in the window             → REWIND
3. some sample in the window had lag <= allowed lag             → OK
4. offset unchanged over the window while lag > 0               → STALL
5. offset moves but lag never decreases                         → WARN
6. otherwise                                                    → OK

A partition without a committed offset is NOTFOUND. Group status: NOTFOUND when no partition has a commit,
ERR when any partition is STOP/STALL/REWIND, WARN when any is WARN, else OK.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

NOTFOUND = "NOTFOUND"
OK = "OK"
WARN = "WARN"
ERR = "ERR"
STOP = "STOP"
STALL = "STALL"
REWIND = "REWIND"

#: Burrow's numbering (``core/protocol/evaluator.go``); larger is worse.
SEVERITY = {NOTFOUND: 0, OK: 1, WARN: 2, ERR: 3, STOP: 4, STALL: 5, REWIND: 6}


@dataclass(frozen=True, slots=True)
class Rules:
    """Evaluation settings: ``window`` samples kept per partition, lag tolerated as OK, evidence needed."""

    window: int = 10
    allowed_lag: int = 0
    min_samples: int = 3

    def __post_init__(self) -> None:
        if self.window < 2:
            raise ValueError(f"status window must be at least 2 samples, got {self.window}")
        if not 1 <= self.min_samples <= self.window:
            raise ValueError(
                f"min_samples must be between 1 and the window ({self.window}), got {self.min_samples}"
            )
        if self.allowed_lag < 0:
            raise ValueError(f"allowed lag must be >= 0, got {self.allowed_lag}")


DEFAULT_RULES = Rules()


def partition_status(
    committed: Sequence[int | None],
    lags: Sequence[int | None],
    rules: Rules = DEFAULT_RULES,
    *,
    group_active: bool | None = None,
) -> str:
    """Status of one partition from its window, oldest first (the last entry is the current sample).

    ``committed``/``lags`` are parallel; entries are None where the group had no commit. ``group_active``:
    True = the group has members, False = known empty, None = unknown.
    """
    # Runs once per group partition per cycle (50,000 times in the benchmark): single passes, no copies
    # unless the window has samples without a commit.
    if not committed:
        return NOTFOUND
    last = committed[-1]
    if last is None:
        return NOTFOUND
    allowed = rules.allowed_lag
    if (lags[-1] or 0) <= allowed:
        return OK
    if None in committed:
        offsets = [c for c in committed if c is not None]
        window_lags = [lag for c, lag in zip(committed, lags, strict=True) if c is not None]
    else:
        offsets, window_lags = committed, lags
    if len(offsets) < rules.min_samples:
        return OK
    highest = max(offsets)
    frozen = min(offsets) == highest
    if frozen and group_active is False:
        return STOP
    if last < highest:
        return REWIND
    if min(window_lags) <= allowed:  # type: ignore[type-var]
        return OK
    if frozen:
        return STALL
    previous = None
    for lag in window_lags:
        if previous is not None and lag < previous:
            return OK
        previous = lag
    return WARN


def group_status(partition_statuses: Iterable[str]) -> tuple[str, str]:
    """``(group status, worst partition status)`` from the group's partition statuses."""
    worst = NOTFOUND
    for status in partition_statuses:
        if SEVERITY[status] > SEVERITY[worst]:
            worst = status
    if worst in (STOP, STALL, REWIND):
        return ERR, worst
    return worst, worst
