"""Where the compiled payloads publishing sends come from.

Either compiled in memory from the project's definitions (``smarter_obs.dashboards`` load + compile,
after ``validate``), or read from a build directory written by ``smarter-obs build``:

    <build>/grafana/<slug>.json     a Grafana dashboard JSON model (classic v1, with its stable ``uid``)
    <build>/metabase/<slug>.json    a Metabase payload (``publish.metabase`` documents the shape)
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from smarter_obs.errors import ConfigError


@dataclass
class Payloads:
    """Compiled objects per target, keyed by dashboard slug."""

    grafana: dict[str, dict[str, Any]] = field(default_factory=dict)
    metabase: dict[str, dict[str, Any]] = field(default_factory=dict)

    def select(self, slugs: tuple[str, ...]) -> Payloads:
        """Only the dashboards ``slugs`` (all when empty); an unknown slug is an error naming the others."""
        if not slugs:
            return self
        known = set(self.grafana) | set(self.metabase)
        unknown = [s for s in slugs if s not in known]
        if unknown:
            raise ConfigError(
                f"--dashboard {', '.join(unknown)}: no such dashboard; "
                f"known: {', '.join(sorted(known)) or 'none'}"
            )
        return Payloads(
            {s: d for s, d in self.grafana.items() if s in slugs},
            {s: d for s, d in self.metabase.items() if s in slugs},
        )


def _read(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{path}: cannot read the built payload ({exc}); run smarter-obs build") from None


def from_build(directory: Path) -> Payloads:
    """Payloads from a ``smarter-obs build`` output directory."""
    if not directory.is_dir():
        raise ConfigError(f"{directory}: no such build directory; run smarter-obs build first")
    payloads = Payloads()
    for path in sorted((directory / "grafana").glob("*.json")):
        payloads.grafana[path.stem] = _read(path)
    for path in sorted((directory / "metabase").glob("*.json")):
        payload = _read(path)
        payload.setdefault("slug", path.stem)
        payloads.metabase[path.stem] = payload
    if not payloads.grafana and not payloads.metabase:
        raise ConfigError(f"{directory}: no grafana/*.json or metabase/*.json in it; run smarter-obs build")
    return payloads


def compile_project(project_dir: Path | None, *, targets: tuple[str, ...] = ()) -> Payloads:
    """Validate the project, write its build output (as ``smarter-obs build``) and return the payloads.

    Any validation problem stops here, before a server is contacted. ``targets`` limits the work to those
    targets (``--only``)."""
    from smarter_obs.dashboards import load_project, validate
    from smarter_obs.dashboards.compile import compiler

    project = load_project(project_dir)
    wanted = [t for t in ("grafana", "metabase") if not targets or t in targets]
    issues = [i for i in validate(project) if project.dashboard(i.dashboard).target in wanted]
    if issues:
        shown = "\n  ".join(str(i) for i in issues[:20])
        more = f"\n  … and {len(issues) - 20} more" if len(issues) > 20 else ""
        raise ConfigError(f"{len(issues)} problem(s) in the definitions, nothing published:\n  {shown}{more}")
    payloads = Payloads()
    for target in wanted:
        dashboards = [d for d in project.dashboards if d.target == target]
        if not dashboards:
            continue
        try:
            module = compiler(target)
        except ModuleNotFoundError:
            raise ConfigError(
                f"this smarter-obs cannot compile {target} dashboards yet; publish the others with "
                f"--only {'metabase' if target == 'grafana' else 'grafana'}"
            ) from None
        compiled = {d.slug: module.compile_dashboard(project, d) for d in dashboards}
        module.write_build(project, compiled, project.build_dir)
        getattr(payloads, target).update(compiled)
    for slug, payload in payloads.metabase.items():
        payload.setdefault("slug", slug)
    return payloads
