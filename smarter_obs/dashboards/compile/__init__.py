"""Compile dashboards into what each target's server takes: one module per target, same interface.

``compile/<target>.py`` defines:

- ``compile_dashboard(project, dashboard) -> dict``: the JSON-ready payload of one dashboard (pure: reads
  the project's SQL files, never the network);
- ``write_build(project, payloads, build_dir) -> list[Path]``: write those payloads (and any provisioning
  files the target has) under ``build/<target>/``; returns the files written.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

from smarter_obs.dashboards.errors import UnknownObjectError, did_you_mean

if TYPE_CHECKING:
    from smarter_obs.dashboards.model import Dashboard
    from smarter_obs.dashboards.project import Project

__all__ = ["COMPILERS", "compile_dashboard", "compile_project", "compiler", "write_build"]

#: target → module holding its compiler.
COMPILERS = {
    "grafana": "smarter_obs.dashboards.compile.grafana",
    "metabase": "smarter_obs.dashboards.compile.metabase",
}


def compiler(target: str) -> Any:
    """The compiler module of ``target``."""
    try:
        return importlib.import_module(COMPILERS[target])
    except KeyError:
        raise UnknownObjectError(f"unknown target {target!r}" + did_you_mean(target, COMPILERS)) from None


def compile_dashboard(project: Project, dashboard: Dashboard) -> dict[str, Any]:
    """The payload of one dashboard for its own target."""
    return compiler(dashboard.target).compile_dashboard(project, dashboard)


def compile_project(project: Project, *, target: str | None = None) -> dict[str, dict[str, dict[str, Any]]]:
    """``{target: {slug: payload}}`` for every dashboard (of one target when given)."""
    result: dict[str, dict[str, dict[str, Any]]] = {}
    for dashboard in project.dashboards:
        if target is None or dashboard.target == target:
            result.setdefault(dashboard.target, {})[dashboard.slug] = compile_dashboard(project, dashboard)
    return result


def write_build(project: Project, build_dir: Path | None = None, *, target: str | None = None) -> list[Path]:
    """Compile every dashboard and write the build output of each target; return the files written."""
    build_dir = build_dir or project.build_dir
    written: list[Path] = []
    for name, payloads in compile_project(project, target=target).items():
        written.extend(compiler(name).write_build(project, payloads, build_dir))
    return written
