"""Burrow-style statuses over constructed windows (pure)."""

from __future__ import annotations

import pytest

from smarter_obs.collectors.redpanda_lag import status as st

RULES = st.Rules(window=5, allowed_lag=0, min_samples=3)


def window(end_offsets: list[int], committed: list[int | None]) -> tuple[list, list]:
    lags = [None if c is None else max(e - c, 0) for e, c in zip(end_offsets, committed, strict=True)]
    return committed, lags


@pytest.mark.parametrize(
    ("ends", "committed", "active", "expected"),
    [
        # rule 0: caught up now, whatever happened before
        ([10, 20, 30, 40, 50], [0, 0, 0, 0, 50], None, st.OK),
        # not enough samples yet
        ([10, 20], [0, 0], None, st.OK),
        # rule 1: offset frozen, lag > 0, group known to be empty → STOP
        ([10, 20, 30, 40, 50], [5, 5, 5, 5, 5], False, st.STOP),
        # same window with members present or unknown membership → STALL (rule 4)
        ([10, 20, 30, 40, 50], [5, 5, 5, 5, 5], True, st.STALL),
        ([10, 20, 30, 40, 50], [5, 5, 5, 5, 5], None, st.STALL),
        # frozen offset and frozen end: still lagging, no progress → STALL
        ([50, 50, 50, 50, 50], [5, 5, 5, 5, 5], None, st.STALL),
        # rule 2: committed offset went back and stayed below
        ([100, 110, 120, 130, 140], [90, 100, 110, 40, 45], True, st.REWIND),
        # a rewind that recovered is not REWIND; lag falls → OK
        ([100, 110, 120, 130, 140], [90, 60, 100, 125, 138], True, st.OK),
        # rule 3: lag was 0 somewhere in the window → OK even though lagging now
        ([10, 20, 30, 40, 50], [10, 20, 30, 35, 40], None, st.OK),
        # rule 5: offset moves but lag never decreases → WARN
        ([100, 120, 140, 160, 180], [90, 100, 110, 120, 130], True, st.WARN),
        # lag constant while moving counts as "never decreases" (Burrow's rule)
        ([100, 110, 120, 130, 140], [90, 100, 110, 120, 130], True, st.WARN),
        # moving and lag decreasing at some point → OK
        ([100, 110, 120, 130, 140], [90, 100, 115, 120, 136], True, st.OK),
        # no commit now → NOTFOUND
        ([10, 20, 30], [5, 6, None], None, st.NOTFOUND),
        # samples without a commit are left out of the evaluation
        ([10, 20, 30, 40, 50], [None, None, 5, 5, 5], None, st.STALL),
        ([10, 20, 30, 40, 50], [None, None, None, 5, 5], None, st.OK),
    ],
)
def test_partition_status(ends, committed, active, expected) -> None:
    c, lags = window(ends, committed)
    assert st.partition_status(c, lags, RULES, group_active=active) == expected


def test_allowed_lag_widens_ok() -> None:
    c, lags = window([10, 20, 30, 40, 50], [5, 15, 25, 35, 45])  # lag 5 throughout
    assert st.partition_status(c, lags, RULES) == st.WARN
    assert st.partition_status(c, lags, st.Rules(window=5, allowed_lag=5, min_samples=3)) == st.OK


@pytest.mark.parametrize(
    ("statuses", "expected"),
    [
        ([], (st.NOTFOUND, st.NOTFOUND)),
        ([st.NOTFOUND, st.NOTFOUND], (st.NOTFOUND, st.NOTFOUND)),
        ([st.OK, st.NOTFOUND], (st.OK, st.OK)),
        ([st.OK, st.WARN, st.OK], (st.WARN, st.WARN)),
        ([st.OK, st.WARN, st.STALL], (st.ERR, st.STALL)),
        ([st.STOP, st.STALL], (st.ERR, st.STALL)),
        ([st.REWIND, st.STOP, st.WARN], (st.ERR, st.REWIND)),
    ],
)
def test_group_status_is_worst_partition_with_burrow_err(statuses, expected) -> None:
    assert st.group_status(statuses) == expected


def test_bad_rules_are_rejected_with_the_reason() -> None:
    with pytest.raises(ValueError, match="window"):
        st.Rules(window=1)
    with pytest.raises(ValueError, match="min_samples"):
        st.Rules(window=5, min_samples=6)
    with pytest.raises(ValueError, match="allowed lag"):
        st.Rules(allowed_lag=-1)
