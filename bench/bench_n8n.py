"""n8n collector backfill: 100k executions from the fake n8n API into the embedded PostgreSQL.

Target (issue 5): backfill < 10 s on 2 cores; a rerun with nothing new changes 0 rows. Baselines measured
in the same run: reading every page without storing (the API floor) and a plain COPY of the same rows
into an empty table (the database floor). The fake serves from a separate process (no schema validation:
the tests do that) so the collector has its own core.
"""

from __future__ import annotations

import multiprocessing
import os
import tempfile
import time

EXECUTIONS = int(os.environ.get("BENCH_N8N_EXECUTIONS", "100000"))
TARGET_SECONDS = 10.0


def _serve(conn, executions: int) -> None:
    from tests.collectors.n8n.fake_n8n import FakeN8n

    fake = FakeN8n.generate(seed=1, executions=executions, hole_rate=0.0, validate=False, unfinished=False)
    fake.start()
    conn.send((fake.url, fake.api_key, len(fake.executions)))
    conn.recv()  # until the parent says stop
    fake.stop()


def main() -> None:
    from bench import _report
    from smarter_obs.collectors.n8n import rows as r
    from smarter_obs.collectors.n8n.collector import N8nCollector
    from smarter_obs.collectors.n8n.source import N8nClient
    from smarter_obs.db.postgres import migrate
    from smarter_obs.sinks.postgres import connect, start_embedded, stop_embedded

    ctx = multiprocessing.get_context("fork")
    parent, child = ctx.Pipe()
    server = ctx.Process(target=_serve, args=(child, EXECUTIONS), daemon=True)
    server.start()
    try:
        url, key, total = parent.recv()
        with tempfile.TemporaryDirectory(prefix="bench-n8n-") as tmp:
            dsn = start_embedded(tmp)
            try:
                migrate(dsn)

                # baseline 1: read every page, map the rows, store nothing
                client = N8nClient(url, key)
                started = time.perf_counter()
                items = [item for page in client.executions(limit=250) for item in page.items]
                types = {
                    row.id: row.trigger_types
                    for p in client.workflows()
                    for row in (r.workflow_row(i, instance="bench", where="bench") for i in p.items)
                }
                rows = [
                    r.execution_row(i, instance="bench", workflow_types=types, where="bench") for i in items
                ]
                fetch_s = time.perf_counter() - started

                # baseline 2: plain COPY of the same rows into an empty table without keys
                with connect(dsn) as conn:
                    conn.execute("CREATE TABLE copy_baseline (LIKE n8n_executions INCLUDING DEFAULTS)")
                    started = time.perf_counter()
                    columns = ", ".join(r.EXECUTION_COLUMNS)
                    with (
                        conn.transaction(),
                        conn.cursor() as cur,
                        cur.copy(f"COPY copy_baseline ({columns}) FROM STDIN") as copy,
                    ):
                        for row in rows:
                            copy.write_row(row)
                    copy_s = time.perf_counter() - started

                # the collector: full backfill, then a rerun with nothing new
                collector = N8nCollector(N8nClient(url, key), dsn, instance="bench", page_size=250)
                started = time.perf_counter()
                first = collector.cycle()
                backfill_s = time.perf_counter() - started
                started = time.perf_counter()
                second = collector.cycle()
                rerun_s = time.perf_counter() - started
                with connect(dsn) as conn:
                    stored, distinct = conn.execute(
                        "SELECT count(*), count(DISTINCT id) FROM n8n_executions WHERE instance = 'bench'"
                    ).fetchone()
                walk_done = collector.state.walk is None
                watermark = collector.state.watermark
                collector.close()
            finally:
                stop_embedded(tmp)  # before the directory goes away
    finally:
        parent.send("stop")
        server.join(timeout=10)

    floor = fetch_s + copy_s
    top = max(int(item["id"]) for item in items)
    # The backfill succeeded: the cycle said so, walked down to the end (watermark at the newest id) and
    # stored every execution of the source exactly once.
    complete = stored == distinct == total
    succeeded = first.ok and walk_done and watermark == top and complete
    print(f"   executions in source          {total}")
    print(f"   baseline fetch+map (no store)  {fetch_s:6.2f} s  ({len(items) / fetch_s:,.0f}/s)")
    print(f"   baseline plain COPY            {copy_s:6.2f} s  ({len(rows) / copy_s:,.0f}/s)")
    print(
        f"   collector backfill             {backfill_s:6.2f} s  ({stored / backfill_s:,.0f}/s) "
        f"= {backfill_s / floor:.2f}x fetch+COPY; target < {TARGET_SECONDS:.0f} s"
    )
    print(
        f"   backfill result                ok={first.ok}, walk finished={walk_done}, watermark {watermark} "
        f"(newest id {top}), rows stored / distinct {stored} / {distinct} (source {total})"
    )
    print(f"   rerun, nothing new             {rerun_s:6.2f} s, rows changed {second.rows}")
    print(f"   backfill rows changed          {first.rows}")
    _report.check(first.ok, f"backfill cycle failed: {first.message}")
    _report.check(walk_done and watermark == top, f"backfill stopped early: watermark {watermark} < {top}")
    _report.check(complete, f"rows stored {stored}, distinct {distinct}, source {total}: not equal")
    _report.check(second.ok, f"rerun cycle failed: {second.message}")
    _report.target(
        f"n8n backfill of {total:,} executions",
        f"{backfill_s:.2f} s",
        f"< {TARGET_SECONDS:g} s",
        succeeded and backfill_s < TARGET_SECONDS,
        f"fetch+map {fetch_s:.2f} s + plain COPY {copy_s:.2f} s",
    )
    _report.target(
        "n8n rerun with nothing new: rows changed",
        f"{second.rows}",
        "0",
        second.ok and second.rows == 0,
        f"{rerun_s:.2f} s",
    )


if __name__ == "__main__":
    main()
