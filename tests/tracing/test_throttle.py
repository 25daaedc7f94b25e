"""smarter_obs._throttle: the one helper for "warn at most once per N seconds"."""

from __future__ import annotations

import logging

import pytest

from smarter_obs import _throttle
from smarter_obs._throttle import Throttle, ThrottledLog


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    now = [1000.0]
    monkeypatch.setattr(_throttle.time, "monotonic", lambda: now[0])
    return now


def test_ready_at_most_once_per_interval_per_key(clock: list[float]) -> None:
    throttle = Throttle(20.0)
    assert throttle.ready("a") and throttle.ready("b")
    assert not throttle.ready("a")
    clock[0] += 19.9
    assert not throttle.ready("a")
    clock[0] += 0.2
    assert throttle.ready("a")
    assert not throttle.ready("a")


def test_throttled_log_warns_once_then_logs_at_debug(
    clock: list[float], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="t")
    log = ThrottledLog(logging.getLogger("t"), 60.0)
    assert log.warning("down: %s", "x", key="unavailable") is True
    assert log.warning("down: %s", "y", key="unavailable") is False
    assert log.warning("rejected", key="rejected") is True
    clock[0] += 60
    assert log.warning("down: %s", "z", key="unavailable") is True
    assert [(r.levelname, r.getMessage()) for r in caplog.records] == [
        ("WARNING", "down: x"),
        ("DEBUG", "down: y"),
        ("WARNING", "rejected"),
        ("WARNING", "down: z"),
    ]


def test_the_repeating_warnings_of_the_package_use_it() -> None:
    from smarter_obs.exporters import clickhouse
    from smarter_obs.sinks import _batcher
    from smarter_obs.tracing import _stats

    for module in (clickhouse, _batcher, _stats):
        source = open(module.__file__).read()
        assert "_throttle import" in source, module.__name__
        assert "monotonic() - " not in source, module.__name__
