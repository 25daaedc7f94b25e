"""Plan and publish compiled dashboards to Grafana and Metabase.

    plans = plan(config, payloads)                    # reads only; one Plan per target
    report = publish(config, payloads, force=…, prune=…)

Both targets are planned before anything is written, so a bad credential or a dashboard changed on the
server stops the run before its first write. Writes happen per object with progress on ``progress``; a
failure raises ``PublishFailed`` listing what was applied (rerunning converges: every object is found
again by its stable key).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from smarter_obs.dashboards.plan import Plan
from smarter_obs.dashboards.publish.config import PublishConfig
from smarter_obs.dashboards.publish.errors import (
    DriftError,
    PublishAuthError,
    PublishError,
    PublishFailed,
    PublishUnavailableError,
)
from smarter_obs.dashboards.publish.source import Payloads, from_build
from smarter_obs.errors import SmarterObsError

__all__ = [
    "DriftError",
    "Payloads",
    "PublishAuthError",
    "PublishConfig",
    "PublishError",
    "PublishFailed",
    "PublishUnavailableError",
    "Report",
    "from_build",
    "plan",
    "publish",
]
TARGETS = ("grafana", "metabase")
Progress = Callable[[str], None]


@dataclass
class Report:
    plans: list[Plan]
    done: list[str] = field(default_factory=list)

    def summary(self) -> str:
        lines = []
        for plan in self.plans:
            writes = [d for d in self.done if d.startswith(plan.target)]
            counts = plan.counts()
            lines.append(
                f"{plan.target}: {len(writes)} write(s); {counts['create']} created, "
                f"{counts['update']} updated, {counts['unchanged']} unchanged, {counts['delete']} to delete"
            )
        return "\n".join(lines)


def _targets(config: PublishConfig, payloads: Payloads, only: Sequence[str], progress: Progress | None):
    wanted = tuple(only) or tuple(t for t in TARGETS if getattr(payloads, t))
    for name in wanted:
        if name == "grafana":
            from smarter_obs.dashboards.publish.grafana import GrafanaTarget

            yield GrafanaTarget(config, progress=progress), list(payloads.grafana.values())
        elif name == "metabase":
            from smarter_obs.dashboards.publish.metabase import MetabaseTarget

            yield MetabaseTarget(config, progress=progress), list(payloads.metabase.values())


def plan(
    config: PublishConfig,
    payloads: Payloads,
    *,
    only: Sequence[str] = (),
    complete: bool = True,
    progress: Progress | None = None,
) -> list[Plan]:
    """What publishing would change, per target. ``complete=False`` (a ``--dashboard`` selection) plans no
    deletes. Changes nothing on either server."""
    return [
        target.plan(objects, complete=complete)
        for target, objects in _targets(config, payloads, only, progress)
    ]


def publish(
    config: PublishConfig,
    payloads: Payloads,
    *,
    only: Sequence[str] = (),
    complete: bool = True,
    force: bool = False,
    prune: bool = False,
    message: str = "smarter-obs publish",
    progress: Progress | None = None,
) -> Report:
    """Plan every target, then apply the pending changes. A second run with no change writes nothing."""
    pairs = [
        (t, t.plan(objects, complete=complete)) for t, objects in _targets(config, payloads, only, progress)
    ]
    report = Report([p for _, p in pairs])
    drifted = [c for _, p in pairs for c in p.changes if c.drift]
    if drifted and not force:
        target, target_plan = next((t, p) for t, p in pairs if any(c.drift for c in p.changes))
        target.apply(target_plan, force=False, done=report.done)  # raises DriftError before any write
    try:
        for target, target_plan in pairs:
            target.apply(target_plan, force=force, prune=prune, message=message, done=report.done)
    except SmarterObsError as exc:
        raise PublishFailed(exc, report.done) from exc
    return report
