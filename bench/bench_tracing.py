"""Tracing overhead against the bare OpenTelemetry SDK, measured side by side in one run (issue 9 §3).

Targets:
- per call: ``@smarter_obs.traced_tool(name="t")`` after ``init_tracing(…, exporter="otlp")`` ≤ 1.05× a
  hand-configured SDK (``TracerProvider`` + ``BatchSpanProcessor`` + ``OTLPSpanExporter``, span
  ``tools/call t``, kind SERVER, the three MCP attributes). Both export OTLP/HTTP to the same local sink (a
  separate process that decodes, counts and discards); they run in one child process in interleaved rounds
  (the order alternates), each round timed from its first call to the end of its flush, so every span's
  export is paid for. The figures are the medians over rounds of each round's time against the bare round
  next to it, in CPU time of the process (creation and export threads) and in wall time; both must meet
  the target (the cores are shared: wall time there also measures the scheduler). A round stays below
  the queue size, so nothing is dropped; the sink must have received every span of both, with the same
  name, kind and attributes.
- import + init: a fresh ``python -c "import smarter_obs; smarter_obs.init_tracing('x')"`` ≤ 1.3× a fresh
  ``python -c "import opentelemetry.sdk.trace"``, whole processes, interleaved; minimum and median. Both
  read compiled bytecode from one private cache (``PYTHONPYCACHEPREFIX``), as an installed wheel would.

Knobs: ``BENCH_TRACING_ROUNDS`` (default 40), ``BENCH_TRACING_CALLS`` per round (2000, at most the 2048 of
the queue), ``BENCH_TRACING_IMPORT_RUNS`` pairs of processes (40).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[1]
ROUNDS = int(os.environ.get("BENCH_TRACING_ROUNDS", "40"))
CALLS = min(int(os.environ.get("BENCH_TRACING_CALLS", "2000")), 2048)
IMPORT_RUNS = int(os.environ.get("BENCH_TRACING_IMPORT_RUNS", "40"))
PER_CALL_TARGET = 1.05
IMPORT_TARGET = 1.3
OURS = "import smarter_obs; smarter_obs.init_tracing('x')"
BARE = "import opentelemetry.sdk.trace"


def main() -> None:
    from bench import _report

    env = _clean_env()
    sink = subprocess.Popen(
        [sys.executable, "-m", "bench.bench_tracing", "sink"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        url = sink.stdout.readline().strip()  # type: ignore[union-attr]
        _report.check(url.startswith("http://"), "the OTLP sink started")
        per_call(url, env, _report)
    finally:
        sink.terminate()
        sink.wait(10)
    import_and_init(env, _report)


def _clean_env() -> dict[str, str]:
    """The environment without OTEL_* settings (both sides must see the same defaults)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "SMARTER_OBS_"))}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
    return env


# -- per call --------------------------------------------------------------------------------------------
def per_call(url: str, env: dict[str, str], report: ModuleType) -> None:
    print(f"   per call: {ROUNDS} interleaved rounds of {CALLS} calls each, OTLP/HTTP to {url}", flush=True)
    result = subprocess.run(
        [sys.executable, "-m", "bench.bench_tracing", "calls", url, str(ROUNDS), str(CALLS)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"per-call child failed: {result.stderr[-2000:]}")
    data = json.loads(result.stdout.splitlines()[-1])
    expected = ROUNDS * CALLS + 1  # + the warm-up call
    received, shapes = _sink_counts(url, expected)
    bare, ours = (statistics.median(data[k]) * 1e6 / CALLS for k in ("bare", "ours"))
    bare_cpu, ours_cpu = (statistics.median(data[k]) * 1e6 / CALLS for k in ("bare_cpu", "ours_cpu"))
    # The figures: the median over rounds of each round's ratio to the bare round run just before or after
    # it, so changes in the machine's load cancel out; in CPU time of the process (all its threads: span
    # creation and export) and in wall time. Both must meet the target.
    cpu_ratio = _paired_median(data["ours_cpu"], data["bare_cpu"])
    wall_ratio = _paired_median(data["ours"], data["bare"])
    print(
        f"   bare SDK     {bare:6.2f} µs/call wall {bare_cpu:6.2f} µs/call CPU (medians of {ROUNDS} rounds)"
    )
    print(f"   traced_tool  {ours:6.2f} µs/call wall {ours_cpu:6.2f} µs/call CPU")
    print(
        f"   ratio (median of round-by-round ratios) {cpu_ratio:.3f}× CPU, {wall_ratio:.3f}× wall; "
        f"target ≤ {PER_CALL_TARGET}×",
        flush=True,
    )
    report.target(
        "traced_tool / bare SDK per call (CPU, wall)",
        f"{cpu_ratio:.3f}×, {wall_ratio:.3f}×",
        f"≤ {PER_CALL_TARGET}×",
        max(cpu_ratio, wall_ratio) <= PER_CALL_TARGET,
        f"bare SDK {bare_cpu:.1f} µs CPU, {bare:.1f} µs wall",
    )
    report.check(
        received.get("bare") == expected, f"sink received {received.get('bare')} of {expected} bare spans"
    )
    report.check(
        received.get("ours") == expected,
        f"sink received {received.get('ours')} of {expected} traced_tool spans",
    )
    report.check(
        (data["exported"], data["dropped"]) == (expected, 0),
        f"Telemetry.stats(): {data['exported']} exported, {data['dropped']} dropped of {expected}",
    )
    shape = [["tools/call t", "SERVER", ["gen_ai.operation.name", "gen_ai.tool.name", "mcp.method.name"]]]
    report.check(shapes.get("bare") == shapes.get("ours") == shape, f"same span on both sides: {shapes}")


def _paired_median(ours: list[float], bare: list[float]) -> float:
    return statistics.median(o / b for o, b in zip(ours, bare, strict=True))


def _sink_counts(url: str, expected: int, timeout: float = 30.0) -> tuple[dict[str, int], dict[str, list]]:
    """Spans the sink received per service.name, and the (name, kind, attribute keys) it saw per service."""
    deadline = time.monotonic() + timeout
    while True:
        with urllib.request.urlopen(url + "/count", timeout=10) as response:
            answer = json.loads(response.read())
        counts = answer["counts"]
        if min(counts.get("bare", 0), counts.get("ours", 0)) >= expected or time.monotonic() > deadline:
            return counts, answer["shapes"]
        time.sleep(0.1)


def _calls_child(url: str, rounds: int, calls: int) -> None:
    """Runs in the child: both pipelines in one process, interleaved rounds; prints one JSON line."""
    import gc

    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor
    from opentelemetry.trace import SpanKind

    import smarter_obs

    bare_provider = TracerProvider(resource=Resource.create({"service.name": "bare"}))
    bare_provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=url + "/v1/traces")))
    tracer = bare_provider.get_tracer("bare")

    def bare_tool() -> int:
        with tracer.start_as_current_span(
            "tools/call t",
            kind=SpanKind.SERVER,
            attributes={
                "mcp.method.name": "tools/call",
                "gen_ai.operation.name": "execute_tool",
                "gen_ai.tool.name": "t",
            },
        ):
            return 1

    telemetry = smarter_obs.init_tracing("ours", exporter="otlp", endpoint=url)

    @smarter_obs.traced_tool(name="t")
    def tool() -> int:
        return 1

    for fn, flush in ((bare_tool, bare_provider.force_flush), (tool, telemetry.force_flush)):
        fn()  # warm up (first export opens the connection)
        flush()
    results: dict[str, list[float]] = {"bare": [], "ours": [], "bare_cpu": [], "ours_cpu": []}
    sides = [("bare", bare_tool, bare_provider.force_flush), ("ours", tool, telemetry.force_flush)]
    for index in range(rounds):
        for label, fn, flush in sides if index % 2 == 0 else sides[::-1]:
            gc.collect()
            cpu = time.process_time()
            started = time.perf_counter()
            for _ in range(calls):
                fn()
            flush()
            results[label].append(time.perf_counter() - started)
            results[label + "_cpu"].append(time.process_time() - cpu)
    stats = telemetry.stats()
    bare_provider.shutdown()
    telemetry.shutdown()
    print(json.dumps({**results, "exported": stats.spans_exported, "dropped": stats.spans_dropped}))


# -- import + init ---------------------------------------------------------------------------------------
def import_and_init(env: dict[str, str], report: ModuleType) -> None:
    print(f"   import + init: {IMPORT_RUNS} interleaved pairs of fresh processes", flush=True)
    with tempfile.TemporaryDirectory(prefix="bench-tracing-pyc-") as pycache:
        _import_runs(env, report, pycache)


def _import_runs(env: dict[str, str], report: ModuleType, pycache: str) -> None:
    # Both sides read compiled bytecode, as from an installed wheel (PYTHONDONTWRITEBYTECODE would leave
    # an editable checkout to be compiled on every start): one private cache for every module.
    env = {k: v for k, v in env.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = pycache
    for code in (OURS, BARE, OURS, BARE):  # fill the bytecode cache, warm the file cache
        subprocess.run([sys.executable, "-c", code], env=env, check=True, cwd="/")
    times: dict[str, list[float]] = {OURS: [], BARE: []}
    failures = 0
    for index in range(IMPORT_RUNS):
        pair = (OURS, BARE) if index % 2 == 0 else (BARE, OURS)
        for code in pair:
            started = time.perf_counter()
            result = subprocess.run(
                [sys.executable, "-c", code], env=env, cwd="/", capture_output=True, check=False
            )
            times[code].append(time.perf_counter() - started)
            failures += result.returncode != 0
    ours, bare = times[OURS], times[BARE]
    ratio_min = min(ours) / min(bare)
    ratio_median = statistics.median(ours) / statistics.median(bare)
    for label, values in (
        ("import smarter_obs + init_tracing", ours),
        ("import opentelemetry.sdk.trace", bare),
    ):
        print(
            f"   {label:34} min {min(values) * 1e3:6.1f} ms  median {statistics.median(values) * 1e3:6.1f} ms"
        )
    print(f"   ratio min {ratio_min:.3f}×, median {ratio_median:.3f}×; target ≤ {IMPORT_TARGET}×", flush=True)
    report.target(
        "import + init / import SDK (min, median)",
        f"{ratio_min:.3f}×, {ratio_median:.3f}×",
        f"≤ {IMPORT_TARGET}×",
        max(ratio_min, ratio_median) <= IMPORT_TARGET,
        f"median SDK import {statistics.median(bare) * 1e3:.0f} ms",
    )
    report.check(failures == 0, f"{failures} import processes failed")


# -- the sink --------------------------------------------------------------------------------------------
def _sink() -> None:
    """OTLP/HTTP sink: decodes each request, counts spans per service.name, answers 200, discards."""
    import threading
    from collections import Counter
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
        ExportTraceServiceRequest,
        ExportTraceServiceResponse,
    )

    counts: Counter[str] = Counter()
    shapes: dict[str, set[tuple]] = {}
    kinds = {2: "SERVER"}
    lock = threading.Lock()
    answer = ExportTraceServiceResponse().SerializeToString()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as a collector answers

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            request = ExportTraceServiceRequest()
            request.ParseFromString(body)
            for resource_spans in request.resource_spans:
                service = next(
                    (
                        a.value.string_value
                        for a in resource_spans.resource.attributes
                        if a.key == "service.name"
                    ),
                    "?",
                )
                seen = {
                    (
                        span.name,
                        kinds.get(span.kind, str(span.kind)),
                        tuple(sorted(a.key for a in span.attributes)),
                    )
                    for scope in resource_spans.scope_spans
                    for span in scope.spans
                }
                n = sum(len(scope.spans) for scope in resource_spans.scope_spans)
                with lock:
                    counts[service] += n
                    shapes.setdefault(service, set()).update(seen)
            self._reply("application/x-protobuf", answer)

        def do_GET(self) -> None:
            with lock:
                shown = {k: sorted([n, kind, list(keys)] for n, kind, keys in v) for k, v in shapes.items()}
                self._reply("application/json", json.dumps({"counts": counts, "shapes": shown}).encode())

        def _reply(self, content_type: str, payload: bytes) -> None:
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    print(f"http://127.0.0.1:{server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    if sys.argv[1] == "sink":
        _sink()
    elif sys.argv[1] == "calls":
        _calls_child(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
