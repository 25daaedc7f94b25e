"""A collector killed with SIGKILL mid-backfill, then restarted: the table ends equal to the source."""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
import time
from urllib.parse import unquote

from tests.collectors.n8n.fake_n8n import FakeN8n, Fault
from tests.collectors.n8n.helpers import INSTANCE, count, list_requests, stored

PAGE = 20


def _start(fake: FakeN8n, dsn: str) -> subprocess.Popen:
    env = {**os.environ, "N8N_API_KEY": fake.api_key}
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "smarter_obs",
            "collect",
            "n8n",
            "--url",
            fake.url,
            "--postgres",
            dsn,
            "--instance",
            INSTANCE,
            "--page-size",
            str(PAGE),
            "--once",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_for(condition, what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def _kill(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    assert proc.returncode == -signal.SIGKILL


def _walk_state(dsn: str) -> dict | None:
    import psycopg

    with psycopg.connect(dsn) as conn:
        row = conn.execute("SELECT state FROM collector_state WHERE instance = %s", (INSTANCE,)).fetchone()
    return row[0].get("walk") if row else None


def test_sigkill_mid_backfill_then_restart_ends_equal_to_source(pg: str) -> None:
    with FakeN8n.generate(seed=3, executions=1500) as fake:
        hang = Fault("slow", after=30, delay=60)  # the 31st page hangs: the kill lands mid-backfill
        fake.faults.append(hang)

        first = _start(fake, pg)
        _wait_for(lambda: hang.applied == 1, "the collector to reach page 31")
        _wait_for(lambda: count(pg, "SELECT count(*) FROM n8n_executions") == 30 * PAGE, "30 pages committed")
        _kill(first)

        walk = _walk_state(pg)
        assert walk is not None and walk["low"] < walk["high"]  # an interrupted walk is recorded
        assert count(pg, "SELECT count(*) FROM n8n_executions") == 30 * PAGE

        # between runs: new executions arrive, unfinished ones finish
        fake.add(45)
        for eid in fake.ids_with_status("waiting")[:5]:
            fake.finish(eid)

        # a second kill, at an arbitrary point of the resumed run
        fake.requests.clear()
        second = _start(fake, pg)
        _wait_for(lambda: len(list_requests(fake)) >= 8, "the resumed run to read 8 pages")
        _kill(second)
        first_cursor = (
            next(r for r in list_requests(fake) if "cursor=" in r).split("cursor=")[1].split("&")[0]
        )
        resumed_at = json.loads(base64.b64decode(unquote(first_cursor)))
        assert int(resumed_at["lastId"]) == walk["low"]  # resumed below what was committed, not from the top

        fake.requests.clear()
        last = _start(fake, pg)
        _, err = last.communicate(timeout=120)
        assert last.returncode == 0, err
        total_pages = len(list_requests(fake))

        assert stored(pg) == fake.expected_rows(INSTANCE)
        assert count(pg, "SELECT count(*) FROM n8n_executions") == len(fake.executions)
        assert count(pg, "SELECT count(DISTINCT id) FROM n8n_executions") == len(fake.executions)
        assert _walk_state(pg) is None
        assert total_pages < 1500 // PAGE  # the restarts did not re-read the whole history
        assert not fake.validation_errors
