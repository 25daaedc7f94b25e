"""The targets every benchmark checks, gathered for the one summary table ``make bench`` ends with.

A benchmark calls ``target(...)`` once per figure that an issue gives a target for, and ``check(...)`` for
each correctness condition its figures depend on (rows written = rows sent, a backfill that succeeded): a
failed check makes ``make bench`` exit non-zero, as a benchmark that could not run does.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path


@dataclass(frozen=True)
class Target:
    bench: str
    name: str
    figure: str
    target: str
    met: bool
    baseline: str = ""


TARGETS: list[Target] = []
FAILED_CHECKS: list[str] = []
_current = ["?"]


def begin(bench: str) -> None:
    """Called by the runner before each benchmark: later records belong to ``bench``."""
    _current[0] = bench


def target(name: str, figure: str, target: str, met: bool, baseline: str = "") -> bool:
    """Record one measured figure against its target; strings as shown, e.g. ``"52 µs"``, ``"≤ 1.05×"``."""
    TARGETS.append(Target(_current[0], name, figure, target, bool(met), baseline))
    return bool(met)


def check(ok: bool, what: str) -> bool:
    """A condition the figures rely on; when false, the result is wrong and ``make bench`` fails."""
    if not ok:
        FAILED_CHECKS.append(f"{_current[0]}: {what}")
        print(f"   CHECK FAILED: {what}", flush=True)
    return ok


def save(path: str | Path) -> None:
    """Write what this process recorded, for a benchmark that runs in a child process (own chDB)."""
    Path(path).write_text(json.dumps({"targets": [asdict(t) for t in TARGETS], "failed": FAILED_CHECKS}))


def load(path: str | Path) -> None:
    """Add what a child process saved with :func:`save` to this process's records."""
    text = Path(path).read_text() if Path(path).exists() else ""
    if not text:
        return
    records = json.loads(text)
    TARGETS.extend(Target(**t) for t in records["targets"])
    FAILED_CHECKS.extend(records["failed"])


def table() -> str:
    """Every recorded target as one aligned table."""
    head = ("bench", "figure", "measured", "target", "verdict", "in-run baseline")
    rows = [(t.bench, t.name, t.figure, t.target, "met" if t.met else "MISSED", t.baseline) for t in TARGETS]
    widths = [max(len(str(r[i])) for r in [head, *rows]) for i in range(len(head))]
    lines = [
        "  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in [head, *rows]
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
