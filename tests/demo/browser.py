"""Open a preview page in headless Chromium (Debian's ``chromium``) and report what a person would see.

Used by the browser test and to refresh the README screenshot::

    .venv/bin/python -m tests.demo.browser build/preview/index.html docs/preview.png
"""

from __future__ import annotations

import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

#: Flags that keep Chromium from calling home on a machine without a network (python.md).
FLAGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


def chromium() -> str | None:
    """Path of the system Chromium, or None."""
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    return None


@dataclass
class PageReport:
    panels: dict[str, str] = field(
        default_factory=dict
    )  # "dashboard/panel" → drawn | empty | error | pending
    blank_charts: list[str] = field(default_factory=list)  # drawn panels whose chart has no marks
    requests: list[str] = field(default_factory=list)  # every request other than the page itself
    console_errors: list[str] = field(default_factory=list)
    sql_shown: str = ""  # the SQL dialog's text after clicking the first panel's SQL button


def inspect_page(page_path: Path, screenshot: Path | None = None, *, width: int = 1440) -> PageReport:
    from playwright.sync_api import sync_playwright

    executable = chromium()
    if executable is None:
        raise RuntimeError("no chromium on PATH (apt-get install -y chromium)")
    url = page_path.resolve().as_uri()
    report = PageReport()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=FLAGS)
        try:
            page = browser.new_page(viewport={"width": width, "height": 900})
            page.on("request", lambda r: r.url != url and report.requests.append(r.url))
            page.on("console", lambda m: m.type == "error" and report.console_errors.append(m.text))
            page.on("pageerror", lambda e: report.console_errors.append(str(e)))
            page.goto(url, wait_until="load")
            page.wait_for_selector("body[data-ready=true]", timeout=20_000)
            page.wait_for_function(
                "() => ![...document.querySelectorAll('.panel')].some(p => p.dataset.state === 'pending')",
                timeout=20_000,
            )
            for item in page.eval_on_selector_all(
                ".panel",
                """nodes => nodes.map(n => ({
                    key: n.closest('section').id + '/' + n.dataset.panel,
                    state: n.dataset.state,
                    marks: n.querySelectorAll('svg path, svg rect, svg circle, td').length
                        + [...n.querySelectorAll('.stat-value')].filter(v => v.textContent !== '–')
                            .length * 2,
                }))""",
            ):
                report.panels[item["key"]] = item["state"]
                if item["state"] == "drawn" and item["marks"] < 2:
                    report.blank_charts.append(item["key"])
            if report.panels:
                page.click(".panel .sql-button")
                report.sql_shown = page.inner_text("#sql-dialog code")
                page.click("#sql-dialog .sql-close")
            if screenshot is not None:
                screenshot.parent.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(screenshot), full_page=True)
        finally:
            browser.close()
    return report


if __name__ == "__main__":  # refresh a screenshot by hand
    result = inspect_page(Path(sys.argv[1]), Path(sys.argv[2]))
    states = sorted(set(result.panels.values()))
    print(f"{len(result.panels)} panels, states {states}, requests {result.requests}")
