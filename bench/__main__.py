"""Run every ``bench/bench_*.py`` (or those named on the command line), then print one table of targets.

Exit status: 0 when every benchmark ran and every correctness check held (a missed speed target is reported
in the table, not as a failure); 1 when a benchmark could not run or produced a wrong result.
"""

from __future__ import annotations

import importlib
import sys
import time
from pathlib import Path

from bench import _report


def main(argv: list[str]) -> int:
    here = Path(__file__).parent
    names = argv or sorted(p.stem.removeprefix("bench_") for p in here.glob("bench_*.py"))
    failed: list[str] = []
    for name in names:
        print(f"== {name}", flush=True)
        _report.begin(name)
        started = time.perf_counter()
        try:
            importlib.import_module(f"bench.bench_{name}").main()
        except Exception as exc:  # noqa: BLE001 - one broken benchmark must not hide the others
            failed.append(f"{name}: {type(exc).__name__}: {exc}")
            print(f"   FAILED: {type(exc).__name__}: {exc}", flush=True)
        print(f"   ({time.perf_counter() - started:.1f}s)", flush=True)
    print("\n== summary", flush=True)
    print(_report.table() if _report.TARGETS else "   no targets recorded")
    problems = failed + _report.FAILED_CHECKS
    missed = sum(not t.met for t in _report.TARGETS)
    print(
        f"\n{len(_report.TARGETS)} targets: {len(_report.TARGETS) - missed} met, {missed} missed; "
        f"{len(problems)} benchmark failures or failed checks"
    )
    for problem in problems:
        print(f"   {problem}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
