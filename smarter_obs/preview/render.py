"""The offline preview page: one self-contained HTML file drawing every panel with Apache ECharts.

Everything the page needs is inside it: the stylesheet, the drawing script, ECharts (vendored, pinned:
``assets/vendor/``) and the query results as JSON. A Content-Security-Policy of ``default-src 'none'``
forbids the page any request, so it works from a file, offline, and leaks nothing when shared.
"""

from __future__ import annotations

import datetime as _dt
import html
import json
from collections.abc import Sequence
from importlib import resources
from pathlib import Path

from smarter_obs.preview.model import DashboardView

__all__ = ["ECHARTS_SHA256", "ECHARTS_VERSION", "render_page", "write_page"]

ECHARTS_VERSION = "6.1.0"
ECHARTS_SHA256 = "61f13280aba3161f77fc801bf5f9c786f55f10432153a0683fc5cc0700b013d5"
_CSP = (
    "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:; font-src data:"
)


def _asset(name: str) -> str:
    return resources.files("smarter_obs.preview").joinpath("assets", *name.split("/")).read_text("utf-8")


def _script_json(data: object) -> str:
    """JSON safe inside ``<script>``: no ``</script>`` or ``<!--`` can close or confuse the element."""
    text = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def render_page(
    dashboards: Sequence[DashboardView],
    *,
    title: str = "SmarterOS observability",
    subtitle: str = "",
    generated_at: _dt.datetime | None = None,
) -> str:
    """The page as a string (UTF-8 HTML)."""
    generated = (generated_at or _dt.datetime.now(_dt.UTC)).strftime("%Y-%m-%d %H:%M UTC")
    data = {"title": title, "generated_at": generated, "dashboards": [d.to_json() for d in dashboards]}
    panels = sum(len(d.panels) for d in dashboards)
    meta = f"{len(dashboards)} dashboards · {panels} panels · generated {generated}"
    if subtitle:
        meta += f" · {subtitle}"
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{_CSP}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="smarter-obs preview">
<title>{html.escape(title)}</title>
<style>{_asset("preview.css")}</style>
</head>
<body>
<div class="top"><h1>{html.escape(title)}</h1><nav id="nav"></nav>
<span class="meta">{html.escape(meta)}</span></div>
<main id="dashboards"></main>
<dialog id="sql-dialog"><div class="sql-bar"><span class="sql-title"></span>
<button type="button" class="sql-copy">Select</button>
<button type="button" class="sql-close">Close</button></div>
<div class="sql-meta"></div><pre><code></code></pre></dialog>
<footer>Drawn with Apache ECharts {ECHARTS_VERSION} (Apache-2.0), embedded. Every panel shows its query's
real result; SQL buttons show the statement exactly as it ran. This page makes no network request.</footer>
<script id="preview-data" type="application/json">{_script_json(data)}</script>
<script>{_asset("vendor/echarts.common.min.js")}</script>
<script>{_asset("preview.js")}</script>
</body>
</html>
"""


def write_page(path: str | Path, dashboards: Sequence[DashboardView], **kwargs) -> Path:
    """Render and write the page atomically (a half-written page is never left behind)."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    partial.write_text(render_page(dashboards, **kwargs), encoding="utf-8")
    partial.replace(target)
    return target
