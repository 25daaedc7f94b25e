"""Rendering a panel's Jinja2 SQL file, with a map from rendered text back to the template's lines.

The environment loads templates from the project's ``queries/`` folder, so shared fragments are Jinja
macros imported from any file there (``{% from "clickhouse/_macros.sql" import tool_filter %}``).
Undefined names are errors. The template sees ``dashboard``, ``panel``, ``params`` (the panel's
``params``), ``target`` and ``datasource``.

Positions in the rendered text map back to the template through the literal text both share: copied text
maps exactly, text produced by a ``{{ … }}`` or a macro call maps to that tag.
"""

from __future__ import annotations

import difflib
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from smarter_obs.dashboards.errors import QuerySyntaxError

__all__ = ["Rendered", "line_column", "render_file"]

_envs: dict[tuple[str, tuple], Any] = {}
_envs_lock = threading.Lock()


def _environment(queries_dir: Path, options: dict[str, Any]) -> Any:
    import jinja2

    key = (str(queries_dir), tuple(sorted(options.items())))
    with _envs_lock:
        env = _envs.get(key)
        if env is None:
            settings: dict[str, Any] = {
                "undefined": jinja2.StrictUndefined,
                "autoescape": False,
                "keep_trailing_newline": True,
                "trim_blocks": True,
                "lstrip_blocks": True,
                "auto_reload": True,
            }
            settings.update(options)  # a dialect may override any default (Metabase: its own `undefined`)
            env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(queries_dir)), **settings)
            _envs[key] = env
        return env


def line_column(text: str, offset: int) -> tuple[int, int]:
    """1-based line and column of ``offset`` in ``text``."""
    offset = max(0, min(offset, len(text)))
    line = text.count("\n", 0, offset) + 1
    column = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return line, column


@dataclass
class Rendered:
    """A rendered template: the source text, the rendered text and the offset map between them."""

    path: Path
    source: str
    text: str
    _blocks: list[tuple[int, int, int]] | None = field(default=None, repr=False)

    def source_offset(self, offset: int) -> int:
        """The template offset a rendered offset came from."""
        if self.text == self.source:
            return offset
        if self._blocks is None:
            matcher = difflib.SequenceMatcher(None, self.source, self.text, autojunk=False)
            # Short matches inside generated text are coincidences (a letter of a macro name matching a
            # letter of its output): only runs of a few characters count as shared literal text.
            self._blocks = [(b, a, size) for a, b, size in matcher.get_matching_blocks() if size >= 4]
        best = 0
        for rendered_start, source_start, size in self._blocks:
            if rendered_start <= offset < rendered_start + size:
                return source_start + (offset - rendered_start)
            if rendered_start > offset:
                # generated text: the position right after the last literal before it (the tag's start)
                return best
            best = source_start + size
        return best

    def location(self, offset: int) -> tuple[int, int]:
        return line_column(self.source, self.source_offset(offset))


def render_file(
    queries_dir: Path, path: Path, context: dict[str, Any], *, options: dict[str, Any] | None = None
) -> Rendered:
    """Render ``path`` (inside ``queries_dir``). Raises QuerySyntaxError with the template's line."""
    import jinja2

    env = _environment(queries_dir, dict(options or {}))
    try:
        source = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise QuerySyntaxError(f"SQL file {path} does not exist") from None
    try:
        name: str | None = path.resolve().relative_to(queries_dir.resolve()).as_posix()
    except ValueError:
        name = None
    try:
        template = env.get_template(name) if name else env.from_string(source)
        text = template.render(**context)
    except jinja2.TemplateSyntaxError as exc:
        error = QuerySyntaxError(f"Jinja: {exc.message}")
        error.line = exc.lineno  # type: ignore[attr-defined]
        error.path = exc.filename  # type: ignore[attr-defined]
        raise error from None
    except jinja2.TemplateError as exc:
        error = QuerySyntaxError(f"Jinja: {exc}")
        error.line = _template_line(exc, path)  # type: ignore[attr-defined]
        raise error from None
    return Rendered(path, source, text)


def _template_line(exc: BaseException, path: Path) -> int | None:
    import traceback

    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        if frame.filename and Path(frame.filename).name == path.name:
            return frame.lineno
    return None
