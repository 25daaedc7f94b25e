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


def compile_project(project: Path | None) -> Payloads:
    """Validate and compile the project's dashboards (the ``smarter_obs.dashboards`` library)."""
    try:
        from smarter_obs.dashboards import compile_payloads  # provided by the dashboards machinery
    except ImportError:
        raise ConfigError(
            "this smarter-obs has no dashboards compiler yet: publish a build directory with --from-build DIR"
        ) from None
    grafana, metabase = compile_payloads(project)
    return Payloads(dict(grafana), dict(metabase))
