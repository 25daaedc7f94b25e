"""The shared collection loop: --once exit codes, failures do not end a long-running loop, stop flag."""

from __future__ import annotations

import threading

import pytest

from smarter_obs.run import CycleOutcome, StopFlag, run_loop


def test_once_returns_zero_on_success_and_one_on_failure() -> None:
    assert run_loop(lambda: CycleOutcome(ok=True, rows=3), interval=60, once=True) == 0
    assert run_loop(lambda: CycleOutcome(ok=False, message="down"), interval=60, once=True) == 1


def test_once_propagates_unexpected_errors() -> None:
    def boom() -> CycleOutcome:
        raise KeyError("bug")

    with pytest.raises(KeyError):
        run_loop(boom, interval=60, once=True)


def test_loop_survives_failing_cycles_and_stops_when_asked() -> None:
    stop = StopFlag()
    calls: list[int] = []

    def cycle() -> CycleOutcome:
        calls.append(1)
        if len(calls) == 1:
            raise ConnectionError("broker down")
        if len(calls) == 3:
            stop.set()
        return CycleOutcome(ok=True)

    assert run_loop(cycle, interval=0.01, stop=stop) == 0
    assert len(calls) == 3


def test_stop_interrupts_the_wait_between_cycles() -> None:
    stop = StopFlag()
    threading.Timer(0.2, stop.set).start()
    calls: list[int] = []
    result = run_loop(lambda: calls.append(1) or CycleOutcome(ok=True), interval=3600, stop=stop)
    assert result == 0 and calls == [1]
