"""Finding and loading a project: the folder holding ``dashboards/`` (Python) and ``queries/`` (Jinja2 SQL).

Found like git finds its repository: the nearest folder at or above the working directory that holds both,
or the one given with ``--project DIR`` (``SMARTER_OBS_PROJECT``). Each ``dashboards/*.py`` module (files
starting with ``_`` are skipped) defines ``dashboard = Dashboard(...)`` or ``dashboards = [...]``.
"""

from __future__ import annotations

import importlib.util
import linecache
import os
import sys
import threading
import traceback
from dataclasses import dataclass, field
from pathlib import Path

from smarter_obs.dashboards.errors import (
    DefinitionError,
    ProjectNotFoundError,
    UnknownObjectError,
    did_you_mean,
)
from smarter_obs.dashboards.model import Dashboard, Panel

__all__ = ["SMARTER_OBS_PROJECT", "Project", "find_project", "load_project"]

#: Environment variable naming the project folder (same as ``--project``).
SMARTER_OBS_PROJECT = "SMARTER_OBS_PROJECT"

_load_lock = threading.Lock()
_module_counter = 0


@dataclass(frozen=True)
class Project:
    """A loaded project: its root folder and every dashboard defined in it (sorted by slug)."""

    root: Path
    dashboards: tuple[Dashboard, ...] = field(default_factory=tuple)

    @property
    def dashboards_dir(self) -> Path:
        return self.root / "dashboards"

    @property
    def queries_dir(self) -> Path:
        return self.root / "queries"

    @property
    def provisioning_dir(self) -> Path:
        """The project's ``provisioning/`` (DDL the queries are validated against, Grafana provisioning)."""
        return self.root / "provisioning"

    @property
    def build_dir(self) -> Path:
        return self.root / "build"

    def dashboard(self, slug: str) -> Dashboard:
        """The dashboard with this slug; UnknownObjectError (with a suggestion) otherwise."""
        for dashboard in self.dashboards:
            if dashboard.slug == slug:
                return dashboard
        slugs = [d.slug for d in self.dashboards]
        raise UnknownObjectError(
            f"no dashboard {slug!r} in {self.root}" + did_you_mean(slug, slugs) + " (see `smarter-obs list`)"
        )

    def for_target(self, target: str) -> tuple[Dashboard, ...]:
        return tuple(d for d in self.dashboards if d.target == target)

    def sql_path(self, dashboard: Dashboard, relative: str) -> Path:
        """The file of a panel's ``sql`` (relative to ``queries/<dashboard.queries>/``)."""
        return (
            self.queries_dir / dashboard.queries / relative
            if dashboard.queries
            else self.queries_dir / relative
        )

    def panel_file(self, dashboard: Dashboard, panel: Panel) -> Path | None:
        return self.sql_path(dashboard, panel.sql) if panel.sql else None


def _is_project(folder: Path) -> bool:
    return (folder / "dashboards").is_dir() and (folder / "queries").is_dir()


def find_project(
    project: str | os.PathLike[str] | None = None, *, start: str | os.PathLike[str] | None = None
) -> Path:
    """The project folder: ``project`` (or ``$SMARTER_OBS_PROJECT``) if given, else the nearest folder at or
    above ``start`` (default: the working directory) that holds ``dashboards/`` and ``queries/``."""
    explicit = project if project not in (None, "") else os.environ.get(SMARTER_OBS_PROJECT) or None
    if explicit is not None:
        folder = Path(explicit).expanduser().absolute()
        if not _is_project(folder):
            missing = [name for name in ("dashboards", "queries") if not (folder / name).is_dir()]
            raise ProjectNotFoundError(
                f"{folder} is not a smarter-obs project: "
                f"it has no {' and no '.join(f'{m}/' for m in missing)} folder"
            )
        return folder
    here = Path(start if start is not None else os.getcwd()).absolute()
    for folder in (here, *here.parents):
        if _is_project(folder):
            return folder
    raise ProjectNotFoundError(
        f"no smarter-obs project at or above {here}: run inside a folder holding dashboards/ and queries/, "
        "or pass --project DIR"
    )


def _definition_error(path: Path, exc: BaseException) -> DefinitionError:
    """The error of a failing definition module, pointing at the deepest frame inside that file."""
    line = getattr(exc, "lineno", None) if isinstance(exc, SyntaxError) else None
    if line is None:
        for frame in reversed(traceback.extract_tb(exc.__traceback__)):
            if Path(frame.filename) == path:
                line = frame.lineno
                break
    where = f"{path}:{line}" if line else str(path)
    detail = exc.msg if isinstance(exc, SyntaxError) else str(exc)
    kind = "" if isinstance(exc, DefinitionError) else f"{type(exc).__name__}: "
    return DefinitionError(f"{where}: {kind}{detail}", path=str(path), line=line)


def _load_module(path: Path) -> list[Dashboard]:
    global _module_counter
    _module_counter += 1
    # A private module name per load: two projects (or two loads of one edited project) never share modules.
    name = f"_smarter_obs_project_{_module_counter}.{path.stem}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:  # pragma: no cover - a .py file always has a loader
        raise DefinitionError(f"{path}: cannot be imported", path=str(path))
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    linecache.checkcache(str(path))
    try:
        spec.loader.exec_module(module)
    except Exception as exc:  # noqa: BLE001 - any error in a definition becomes a DefinitionError
        raise _definition_error(path, exc) from None
    finally:
        sys.modules.pop(name, None)
    found: list[Dashboard] = []
    single = getattr(module, "dashboard", None)
    many = getattr(module, "dashboards", None)
    if isinstance(single, Dashboard):
        found.append(single)
    if isinstance(many, (list, tuple)):
        found.extend(d for d in many if isinstance(d, Dashboard))
    if not found:
        raise DefinitionError(
            f"{path}: defines no dashboard; assign `dashboard = Dashboard(...)` (or `dashboards = [...]`)",
            path=str(path),
        )
    return [d.with_source(path) for d in found]


def load_project(
    project: str | os.PathLike[str] | Path | None = None, *, start: str | None = None
) -> Project:
    """Find the project (see :func:`find_project`) and load every dashboard defined in ``dashboards/*.py``.

    Raises ProjectNotFoundError, or DefinitionError naming the file and line of a broken definition.
    """
    root = find_project(project, start=start)
    dashboards: dict[str, Dashboard] = {}
    uids: dict[str, str] = {}
    with _load_lock:
        for path in sorted((root / "dashboards").glob("*.py")):
            if path.name.startswith("_"):
                continue
            for dashboard in _load_module(path):
                if dashboard.slug in dashboards:
                    other = dashboards[dashboard.slug].source
                    raise DefinitionError(
                        f"{path}: dashboard slug {dashboard.slug!r} is already defined in {other}",
                        path=str(path),
                    )
                if dashboard.uid in uids:
                    raise DefinitionError(
                        f"{path}: dashboard uid {dashboard.uid!r} is already used by {uids[dashboard.uid]!r}",
                        path=str(path),
                    )
                dashboards[dashboard.slug] = dashboard
                uids[dashboard.uid or ""] = dashboard.slug
    return Project(root=root, dashboards=tuple(dashboards[s] for s in sorted(dashboards)))
