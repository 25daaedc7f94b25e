"""One collection cycle: n8n API → rows → PostgreSQL, crash-safe and incremental.

Progress lives in ``collector_state`` (collector ``n8n``, one row per instance) and is always written in the
same transaction as the rows it describes, so a crash (even SIGKILL) at any point leaves the table and the
state consistent. Per cycle:

1. **Workflows**: every page of ``GET /workflows`` upserted; their trigger node types classify executions.
2. **Walk** ``GET /executions`` newest first (``id DESC``) down to the *watermark* W (every listed execution
   with id ≤ W is stored). Each committed batch of pages carries ``walk = {high, low}``: ids in (low, high]
   are stored. Only when the walk reaches W (or the end of the list) does W become ``high``. A walk
   interrupted by a crash is *resumed* first next time, from the keyset cursor of ``low`` down to W, and
   then a new walk covers what arrived meanwhile: no gap, no duplicate (rows are keyed upserts).
3. **Gaps**: n8n leaves *running* executions out of lists. Missing ids inside a walk (within ``GAP_WINDOW``
   of its top) are remembered and probed with ``GET /executions/{id}``: found → stored (and re-read while
   unfinished); 404 → dropped (deleted or never saved) once the execution above the hole started at least
   ``GAP_GRACE`` seconds ago (until then n8n may not have committed it yet).
4. **Unfinished**: stored rows with status new/running/waiting/unknown are re-read by id until they finish
   (many waiting ones: one ``status=waiting`` list first); a 404 deletes the row (n8n deleted the execution).
5. **Retries**: when a retry succeeds n8n sets ``retrySuccessId`` on the original execution; an original at
   or below the watermark is queued (in the state, same transaction) and re-read.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from smarter_obs.collectors.n8n import rows as r
from smarter_obs.collectors.n8n.source import MAX_PAGE_SIZE, CursorRejectedError, N8nClient, execution_cursor
from smarter_obs.errors import SinkError, SourceDataError, SourceError
from smarter_obs.run import CycleOutcome, StopFlag

log = logging.getLogger(__name__)

COLLECTOR = "n8n"
GAP_WINDOW = (
    10_000  # only ids this close below a walk's top are tracked as gaps (older holes are pruned history)
)
MAX_GAPS = 10_000
MAX_PROBES = 500  # GET /executions/{id} for gaps per cycle; the rest wait for the next cycle
GAP_GRACE = 30.0  # a gap that 404s is dropped once the execution above it is this old (seconds)
WAITING_LIST_MIN = 50  # from this many stored waiting executions, refresh them with one filtered list
COMMIT_ROWS = 2000  # rows per transaction while walking (fewer commits; a crash loses at most this much work)
COMMIT_AFTER = 1.0  # seconds: commit validated rows when the next page is this late


@dataclass
class State:
    """What ``collector_state`` holds for one instance."""

    watermark: int = 0
    walk: dict[str, int] | None = None
    gaps: dict[str, float] = field(default_factory=dict)
    recheck: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"walk": self.walk, "gaps": self.gaps, "recheck": self.recheck}

    def copy(self) -> State:
        return State(
            self.watermark, dict(self.walk) if self.walk else None, dict(self.gaps), list(self.recheck)
        )


@dataclass
class CycleStats:
    pages: int = 0
    read: int = 0
    changed: int = 0
    workflows_changed: int = 0
    probed: int = 0
    reread: int = 0
    deleted: int = 0

    def summary(self, instance: str, watermark: int) -> str:
        return (
            f"n8n {instance}: {self.pages} pages, {self.read} executions read, {self.changed} rows changed "
            f"({self.workflows_changed} workflows), {self.probed} gaps probed, {self.reread} re-read, "
            f"{self.deleted} deleted; watermark {watermark}"
        )


class N8nCollector:
    """Copies one n8n instance's workflows and executions into PostgreSQL."""

    def __init__(
        self,
        client: N8nClient,
        dsn: str | None,
        *,
        instance: str,
        page_size: int = MAX_PAGE_SIZE,
        stop: StopFlag | None = None,
        progress: Callable[[str], None] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not 1 <= page_size <= MAX_PAGE_SIZE:
            raise ValueError(f"page_size must be 1..{MAX_PAGE_SIZE} (n8n's maximum), got {page_size}")
        self.client = client
        self.dsn = dsn
        self.instance = instance
        self.page_size = page_size
        self.stop = stop or StopFlag()
        self.progress = progress
        self.clock = clock
        self._conn = None
        self.state = State()

    # -- plumbing -------------------------------------------------------------------------------------------

    def _connection(self):
        from smarter_obs.sinks.postgres import connect

        if self._conn is None or self._conn.closed:
            self._conn = connect(self.dsn)
        return self._conn

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        self.client.close()

    def _load_state(self, conn) -> State:
        from smarter_obs.sinks.postgres import sink_errors

        with sink_errors("read collector_state", table="collector_state"):
            row = conn.execute(
                "SELECT watermark, state FROM collector_state WHERE collector = %s AND instance = %s",
                (COLLECTOR, self.instance),
            ).fetchone()
        if row is None:
            return State()
        watermark, data = row
        return State(
            int(watermark or 0),
            data.get("walk"),
            dict(data.get("gaps") or {}),
            list(data.get("recheck") or []),
        )

    def _save_state(self, conn, state: State) -> None:
        from psycopg.types.json import Jsonb

        conn.execute(
            "INSERT INTO collector_state (collector, instance, watermark, state, updated_at)"
            " VALUES (%s, %s, %s, %s, now()) ON CONFLICT (collector, instance) DO UPDATE"
            " SET watermark = EXCLUDED.watermark, state = EXCLUDED.state, updated_at = now()",
            (COLLECTOR, self.instance, state.watermark, Jsonb(state.to_json())),
        )

    def _commit(
        self, conn, rows: Sequence[r.ExecutionRow], state: State, *, delete: Sequence[str] = ()
    ) -> int:
        """Write ``rows`` (and deletions) and ``state`` in one transaction; return rows changed."""
        from smarter_obs.sinks.postgres import sink_errors, upsert

        with sink_errors("write n8n executions", table=r.EXECUTION_TABLE), conn.transaction():
            changed = upsert(conn, r.EXECUTION_TABLE, r.EXECUTION_COLUMNS, rows, key=r.KEY, touch="synced_at")
            if delete:
                cur = conn.execute(
                    "DELETE FROM n8n_executions WHERE instance = %s AND id = ANY(%s)",
                    (self.instance, list(delete)),
                )
                changed += max(cur.rowcount, 0)
            self._save_state(conn, state)
        self.state = state
        return changed

    def _row(self, item: Mapping[str, Any], types: Mapping[str, Sequence[str]], where: str) -> r.ExecutionRow:
        """The ``n8n_executions`` row of an API item of this instance (``where`` names it in errors)."""
        return r.execution_row(item, instance=self.instance, workflow_types=types, where=where)

    def _queue_retried(self, rows: Sequence[r.ExecutionRow], state: State) -> None:
        """A successful retry updated its original's retrySuccessId: re-read the original."""
        for row in rows:
            original = row.retry_of
            if original and row.status == "success" and original not in state.recheck:
                state.recheck.append(original)

    # -- the cycle ------------------------------------------------------------------------------------------

    def cycle(self) -> CycleOutcome:
        """Run one cycle; driver problems close the connection so the next cycle reconnects."""
        try:
            stats = self._cycle()
        except SinkError:
            self.close()
            raise
        message = stats.summary(self.instance, self.state.watermark)
        log.info("%s", message)
        return CycleOutcome(ok=True, rows=stats.changed, message=message)

    def _cycle(self) -> CycleStats:
        stats = CycleStats()
        conn = self._connection()
        types = self._sync_workflows(conn, stats)
        state = self._load_state(conn)
        self.state = state
        if state.walk and not self.stop.is_set():
            try:
                self._walk(conn, state, types, stats, resume=True)
            except CursorRejectedError as exc:  # this n8n does not take our resume cursor: walk from the top
                log.warning("%s; restarting the interrupted backfill from the newest execution", exc)
                from smarter_obs.sinks.postgres import sink_errors

                state.walk = None
                with sink_errors("write collector_state", table="collector_state"), conn.transaction():
                    self._save_state(conn, state)
        if not self.stop.is_set():
            self._walk(conn, state, types, stats, resume=False)
        if not self.stop.is_set():
            self._probe_gaps(conn, state, types, stats)
        if not self.stop.is_set():
            self._reread(conn, state, types, stats)
        return stats

    def _sync_workflows(self, conn, stats: CycleStats) -> dict[str, Sequence[str]]:
        from smarter_obs.sinks.postgres import sink_errors, upsert

        wf_rows = []
        for page in self.client.workflows(limit=self.page_size):
            for index, item in enumerate(page.items):
                wf_rows.append(
                    r.workflow_row(item, instance=self.instance, where=f"{page.label} data[{index}]")
                )
        with sink_errors("write n8n workflows", table=r.WORKFLOW_TABLE), conn.transaction():
            stats.workflows_changed = upsert(
                conn, r.WORKFLOW_TABLE, r.WORKFLOW_COLUMNS, wf_rows, key=r.KEY, touch="synced_at"
            )
            known = conn.execute(
                "SELECT id, trigger_types FROM n8n_workflows WHERE instance = %s", (self.instance,)
            ).fetchall()
        stats.changed += stats.workflows_changed
        types: dict[str, Sequence[str]] = {wid: tt for wid, tt in known}  # deleted workflows keep their types
        types.update({row.id: row.trigger_types for row in wf_rows})
        return types

    def _walk(
        self, conn, state: State, types: Mapping[str, Sequence[str]], stats: CycleStats, *, resume: bool
    ) -> None:
        """Walk executions newest first down to the watermark (see module doc and :class:`_Walk`)."""
        _Walk(self, conn, state, types, stats, resume=resume).run()

    def _since(self, row: r.ExecutionRow) -> float:
        """When the execution of ``row`` existed at the latest: its start, or now if it has not started.

        A missing id below it was created before it, so once this is ``GAP_GRACE`` old a 404 for the missing
        id is final (deleted or never saved), and the gap is dropped at the first probe.
        """
        started = row.started_at
        now = self.clock()
        return min(now, started.timestamp()) if started is not None else now

    def _add_gaps(self, state: State, gaps: Sequence[tuple[int, float]]) -> None:
        if not gaps:
            return
        for gid, since in gaps:
            state.gaps.setdefault(str(gid), since)
        if len(state.gaps) > MAX_GAPS:
            keep = sorted(state.gaps, key=int, reverse=True)[:MAX_GAPS]
            log.warning(
                "n8n %s: more than %d missing execution ids; forgetting the oldest", self.instance, MAX_GAPS
            )
            state.gaps = {k: state.gaps[k] for k in keep}

    def _probe_gaps(self, conn, state: State, types: Mapping[str, Sequence[str]], stats: CycleStats) -> None:
        if not state.gaps:
            return
        new_state = state.copy()
        batch = []
        now = self.clock()
        for gid in sorted(state.gaps, key=int, reverse=True)[:MAX_PROBES]:
            if self.stop.is_set():  # SIGTERM: keep what was probed, the rest waits for the next run
                break
            item = self.client.execution(gid)
            stats.probed += 1
            if item is None:
                if now - new_state.gaps[gid] >= GAP_GRACE:
                    del new_state.gaps[gid]
                continue
            batch.append(self._row(item, types, f"GET /api/v1/executions/{gid}"))
            del new_state.gaps[gid]
        self._queue_retried(batch, new_state)
        if batch or new_state.gaps != state.gaps:
            stats.changed += self._commit(conn, batch, new_state)
            state.__dict__.update(new_state.__dict__)

    def _still_waiting(
        self, unfinished: dict[str, str], types: Mapping[str, Sequence[str]]
    ) -> list[r.ExecutionRow]:
        """Rows of stored ``waiting`` executions that n8n still lists as waiting (one list, not a GET each).

        Only worth it with many waiting executions (Wait nodes can park thousands for days).
        """
        waiting = {eid for eid, status in unfinished.items() if status == "waiting"}
        if len(waiting) < WAITING_LIST_MIN:
            return []
        rows = []
        for page in self.client.executions(status="waiting", limit=self.page_size):
            for index, item in enumerate(page.items):
                # n8n ignores some status filters: check the status here too
                if item.get("status") == "waiting" and item.get("id") in waiting:
                    rows.append(self._row(item, types, f"{page.label} data[{index}]"))
        return rows

    def _reread(self, conn, state: State, types: Mapping[str, Sequence[str]], stats: CycleStats) -> None:
        """Re-read unfinished executions, then originals of successful retries, while new ones appear."""
        from smarter_obs.sinks.postgres import sink_errors

        with sink_errors("read unfinished n8n executions", table=r.EXECUTION_TABLE):
            unfinished = dict(
                conn.execute(
                    "SELECT id, status FROM n8n_executions WHERE instance = %s AND status = ANY(%s)",
                    (self.instance, list(r.UNFINISHED_STATUSES)),
                ).fetchall()
            )
        still_waiting = self._still_waiting(unfinished, types) if unfinished else []
        for row in still_waiting:  # listed as waiting again: no GET needed
            unfinished.pop(row.id, None)
        pending = sorted(unfinished, key=int)
        seen: set[str] = set()
        while not self.stop.is_set():
            ids = [i for i in dict.fromkeys(pending + state.recheck) if i not in seen]
            if not ids and not still_waiting:
                return
            pending = []
            batch, gone = [], []
            for eid in ids:
                if self.stop.is_set():
                    break
                seen.add(eid)
                item = self.client.execution(eid)
                stats.reread += 1
                if item is None:
                    gone.append(eid)
                    continue
                batch.append(self._row(item, types, f"GET /api/v1/executions/{eid}"))
            batch, still_waiting = still_waiting + batch, []
            new_state = state.copy()
            self._queue_retried(batch, new_state)
            queued_now = {row.retry_of for row in batch}
            new_state.recheck = [i for i in new_state.recheck if i not in seen or i in queued_now]
            stats.changed += self._commit(conn, batch, new_state, delete=gone)
            stats.deleted += len(gone)
            state.__dict__.update(new_state.__dict__)


@dataclass
class _PageRead:
    """A validated page of the walk: its rows above the watermark and the ids missing between them."""

    rows: list[r.ExecutionRow]
    gaps: list[tuple[int, float]]  # (missing id, since when it must exist if it ever will)
    high: int | None  # the walk's top id, once known
    last: int | None  # the lowest id read so far
    since: float  # creation time bound of the execution just above the next gap
    done: bool  # the walk ends in this page (watermark reached or last page)


class _Walk:
    """One walk of ``GET /executions`` newest first down to the watermark (see the module doc).

    Three stages overlap: a thread fetches pages ahead (:class:`_Prefetcher`), this thread validates them,
    a writer thread commits batches in order (:class:`_Writer`). Validated rows are committed with
    ``walk = {high, low}`` every ``COMMIT_ROWS`` rows, when the source stalls for ``COMMIT_AFTER`` seconds,
    before an error is raised, and at the end (which moves the watermark).
    """

    def __init__(
        self,
        collector: N8nCollector,
        conn,
        state: State,
        types: Mapping[str, Sequence[str]],
        stats: CycleStats,
        *,
        resume: bool,
    ) -> None:
        self.collector, self.state, self.types, self.stats = collector, state, types, stats
        self.watermark = state.watermark
        cursor: str | None = None
        self.high: int | None = None
        self.last: int | None = None
        if resume:
            assert state.walk is not None
            self.high, self.last = int(state.walk["high"]), int(state.walk["low"])
            cursor = execution_cursor(self.last, collector.page_size)
        self.last_since = collector.clock()
        self.pending: list[r.ExecutionRow] = []
        self.pending_gaps: list[tuple[int, float]] = []
        self.pending_since = 0.0
        self.writer = _Writer(lambda rows, new_state: collector._commit(conn, rows, new_state))
        self.pages = _Prefetcher(
            collector.client, cursor, collector.page_size, self.watermark, collector.stop
        )

    def run(self) -> None:
        try:
            self._walk_pages()
        except SourceError:
            if self.pending:  # everything before the bad page is valid: keep it
                self._flush(done=False)
            raise
        finally:
            self.pages.close()
            try:
                self.writer.close()  # waits for the queued commits; raises the writer's error
            finally:
                self.stats.changed += self.writer.changed

    def _walk_pages(self) -> None:
        while True:
            try:
                page = self.pages.next(self._commit_timeout())
            except queue.Empty:  # the source is slow: commit what is validated
                self._flush(done=False)
                continue
            if page is None:  # stop requested
                if self.pending:
                    self._flush(done=False)
                return
            read = self._read_page(page)
            if read.high is None:  # nothing above the watermark
                return
            self._accept(read)
            if read.done:
                self._add_gaps_below_last()
                self._flush(done=True)
                return
            if len(self.pending) >= COMMIT_ROWS:
                self._flush(done=False)
            self._report_progress()

    def _commit_timeout(self) -> float | None:
        """How long to wait for the next page before committing what is validated (None: no rows held)."""
        if not self.pending:
            return None
        return max(0.0, self.pending_since + COMMIT_AFTER - time.monotonic())

    def _read_page(self, page) -> _PageRead:
        """Validate ``page``: rows above the watermark in descending id order, and the ids missing between."""
        self.stats.pages += 1
        collector = self.collector
        read = _PageRead([], [], self.high, self.last, self.last_since, done=page.next_cursor is None)
        for index, item in enumerate(page.items):
            where = f"{page.label} data[{index}]"
            row = collector._row(item, self.types, where)
            eid = int(row.id)
            if read.last is not None and eid >= read.last:
                raise SourceDataError(
                    f"{where}: field id: {eid} is not below the previous id {read.last}; "
                    "n8n lists executions by id descending",
                    source="n8n",
                )
            if eid <= self.watermark:
                read.done = True
                break
            if read.high is None:
                read.high = eid
            if read.last is not None and read.last - eid > 1:
                low = max(eid + 1, read.high - GAP_WINDOW + 1)
                read.gaps.extend((g, read.since) for g in range(low, read.last))
            read.rows.append(row)
            read.last, read.since = eid, collector._since(row)
        return read

    def _accept(self, read: _PageRead) -> None:
        """The page is valid: it joins the batch to commit."""
        self.high, self.last, self.last_since = read.high, read.last, read.since
        if not self.pending:
            self.pending_since = time.monotonic()
        self.pending.extend(read.rows)
        self.pending_gaps.extend(read.gaps)
        self.stats.read += len(read.rows)

    def _add_gaps_below_last(self) -> None:
        """At the end of the walk: the ids between the watermark and the lowest id read are missing."""
        last, high = self.last, self.high
        if last is not None and high is not None and last - self.watermark > 1:  # ids start at 1
            low = max(self.watermark + 1, high - GAP_WINDOW + 1)  # the window bounds old holes
            self.pending_gaps.extend((g, self.last_since) for g in range(low, last))

    def _flush(self, done: bool) -> None:
        """Hand the pending rows, gaps and the walk's progress to the writer as one transaction."""
        new_state = self.state.copy()
        if done:
            new_state.watermark = max(self.watermark, self.high or 0)
            new_state.walk = None
        else:
            new_state.walk = {"high": self.high, "low": self.last}
        self.collector._add_gaps(new_state, self.pending_gaps)
        # originals above the watermark are listed later in this walk, with their retrySuccessId
        retried = [row for row in self.pending if int(row.retry_of or 0) <= self.watermark]
        self.collector._queue_retried(retried, new_state)
        self.writer.submit(self.pending, new_state)
        self.state.__dict__.update(new_state.__dict__)  # what will be committed once the writer gets to it
        self.pending, self.pending_gaps = [], []

    def _report_progress(self) -> None:
        collector, stats = self.collector, self.stats
        if collector.progress and stats.pages % 40 == 0:
            collector.progress(
                f"n8n {collector.instance}: {stats.read} executions read, down to id {self.last}"
            )


class _Prefetcher:
    """Fetches execution pages on a thread, a few ahead, so HTTP overlaps the database writes.

    Stops by itself after a page that reaches the watermark (no request below it), at the last page, or
    when stopped. Errors are handed to the reader and raised there.
    """

    def __init__(
        self,
        client: N8nClient,
        cursor: str | None,
        limit: int,
        watermark: int,
        stop: StopFlag,
        depth: int = 2,
    ) -> None:
        self._client, self._cursor, self._limit, self._watermark, self._stop = (
            client,
            cursor,
            limit,
            watermark,
            stop,
        )
        self._queue: queue.Queue = queue.Queue(maxsize=depth)
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._run, name="n8n-prefetch", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        cursor, page_no = self._cursor, 0
        try:
            while not self._closed.is_set():
                if self._stop.is_set():
                    self._put(None)
                    return
                page_no += 1
                page = self._client.executions_page(cursor, self._limit, page_no)
                self._put(page)
                if not page.next_cursor or _reaches(page, self._watermark):
                    return
                cursor = page.next_cursor
        except BaseException as exc:  # noqa: BLE001 - re-raised in the reading thread
            self._put(exc)

    def _put(self, item: object) -> None:
        while not self._closed.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def next(self, timeout: float | None):
        """The next page (None when stopped); raises queue.Empty after ``timeout`` or the fetch's error."""
        while True:
            try:
                item = self._queue.get(timeout=timeout if timeout is not None else 0.2)
            except queue.Empty:
                if timeout is not None:
                    raise
                if self._stop.is_set():  # do not wait for a request in flight
                    return None
                continue
            if isinstance(item, BaseException):
                raise item
            return item

    def close(self) -> None:
        self._closed.set()
        self._thread.join(timeout=1.0)


def _reaches(page, watermark: int) -> bool:
    """True when the page's oldest item is at or below the watermark (the walk ends in this page)."""
    if not page.items:
        return False
    oldest = page.items[-1].get("id")
    return isinstance(oldest, str) and oldest.isdigit() and int(oldest) <= watermark


class _Writer:
    """Commits the walk's batches on a thread, in order, so the database works while pages are validated."""

    def __init__(self, commit: Callable[[list[r.ExecutionRow], State], int]) -> None:
        self._commit = commit
        self._queue: queue.Queue = queue.Queue(maxsize=1)
        self.changed = 0
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="n8n-writer", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            if self.error is None:  # after a failure, later batches are dropped: their state would lie
                try:
                    self.changed += self._commit(*item)
                except BaseException as exc:  # noqa: BLE001 - raised in the walking thread
                    self.error = exc

    def submit(self, rows: list[r.ExecutionRow], state: State) -> None:
        if self.error is not None:
            raise self.error
        self._queue.put((rows, state))

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join()
        if self.error is not None:
            raise self.error
