"""The receiver under hostile or careless clients: one ``smarter-obs collect spans`` process for the module.

Bad framing (Content-Length, chunked bodies), gzip bombs, stalled and vanishing connections, deeply nested
JSON. Each answer must come at once, memory and threads stay bounded, and stderr shows no traceback. The store
is a closed port: nothing here needs ClickHouse, and the receiver's own memory is what is measured.
"""

from __future__ import annotations

import gzip
import os
import re
import socket
import struct
import subprocess
import sys
import threading
import time
import zlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from google.rpc.status_pb2 import Status
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans

from smarter_obs.collectors.spans.server import DEFAULT_MAX_INFLIGHT
from tests.clickhouse.spanfactory import make_spans
from tests.clickhouse.test_sink import closed_port

REPO = Path(__file__).resolve().parents[3]
MAX_CONNECTIONS = 16
READ_TIMEOUT = 1.0
MiB = 1 << 20
BODY = encode_spans(make_spans(seed=51, count=20)).SerializeToString()


class Receiver:
    """A receiver process; ``lines`` collects its stderr as it runs."""

    def __init__(self, *options: str) -> None:
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "smarter_obs",
                "-vv",  # debug: a disconnect must be one line even here
                "collect",
                "spans",
                "--listen",
                "127.0.0.1:0",
                "--clickhouse",
                f"http://127.0.0.1:{closed_port()}/otel",
                *options,
            ],
            cwd=REPO,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        self.lines: list[str] = []
        self._listening = threading.Event()
        self.url = ""
        threading.Thread(target=self._read, daemon=True).start()
        if not self._listening.wait(30):
            self.stop()
            raise AssertionError("receiver did not start:\n" + "".join(self.lines))
        host, port = self.url.removeprefix("http://").rsplit(":", 1)
        self.address = (host, int(port))

    def _read(self) -> None:
        for line in self.process.stderr:
            self.lines.append(line)
            match = re.search(r"listening on (http://\S+)", line)
            if match:
                self.url = match.group(1)
                self._listening.set()

    def status(self, field: str) -> int:
        """A numeric field of /proc/<pid>/status (``VmRSS``/``VmHWM`` in bytes, ``Threads``)."""
        text = Path(f"/proc/{self.process.pid}/status").read_text()
        value = int(re.search(rf"^{field}:\s+(\d+)", text, re.MULTILINE).group(1))
        return value * 1024 if field.startswith("Vm") else value

    def reset_peak_rss(self) -> None:
        Path(f"/proc/{self.process.pid}/clear_refs").write_text("5")  # VmHWM := VmRSS

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@pytest.fixture(scope="module")
def receiver():
    running = Receiver("--max-connections", str(MAX_CONNECTIONS), "--read-timeout", f"{READ_TIMEOUT}s")
    # Warm up: the first write attempt imports pyarrow (~70 MB); it must not land inside a measurement.
    response = requests.post(
        f"{running.url}/v1/traces", data=BODY, headers={"Content-Type": "application/x-protobuf"}, timeout=10
    )
    assert response.status_code == 200
    health = f"{running.url}/health"
    assert wait_until(lambda: requests.get(health, timeout=5).json()["store"] == "down", timeout=20)
    yield running
    running.stop()
    tracebacks = [line for line in running.lines if "Traceback" in line]
    assert not tracebacks, "".join(running.lines[-80:])


def wait_until(condition, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def exchange(address: tuple[str, int], data: bytes, timeout: float = 5.0) -> tuple[int, dict[str, str]]:
    """Send raw bytes, keep the connection open, return the status and headers of the answer.

    The connection stays open while waiting: an answer that needs the client to close never comes.
    """
    with socket.create_connection(address, timeout=timeout) as sock:
        sock.sendall(data)
        answer = b""
        while b"\r\n\r\n" not in answer:
            piece = sock.recv(65536)
            if not piece:
                break
            answer += piece
    head = answer.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
    assert head[0].startswith("HTTP/1."), f"no HTTP answer: {answer[:200]!r}"
    headers = dict(line.split(": ", 1) for line in head[1:] if ": " in line)
    return int(head[0].split()[1]), {k.lower(): v for k, v in headers.items()}


def post_head(*headers: str) -> bytes:
    lines = ["POST /v1/traces HTTP/1.1", "Host: receiver", "Content-Type: application/x-protobuf", *headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def test_negative_content_length_is_answered_400_at_once(receiver: Receiver) -> None:
    # The client keeps sending and never closes: the old receiver read until EOF, without a limit, and
    # never answered (exchange times out).
    status, _ = exchange(receiver.address, post_head("Content-Length: -1") + b"\0" * 100_000)
    assert status == 400


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        (["Content-Length: abc"], 400),
        (["Content-Length: +20"], 400),
        (["Content-Length: 1_0"], 400),
        (["Content-Length: 0x10"], 400),
        (["Content-Length: 10, 20"], 400),
        (["Content-Length: 10", "Content-Length: 20"], 400),
        (["Content-Length: 99999999999999999999999999999"], 413),
        ([], 411),
        (["Transfer-Encoding: gzip"], 501),
        (["Transfer-Encoding: chunked", "Content-Length: 10"], 400),
    ],
)
def test_garbled_or_missing_framing_gets_a_client_error_at_once(
    receiver: Receiver, headers: list[str], status: int
) -> None:
    assert exchange(receiver.address, post_head(*headers) + b"\0" * 10)[0] == status


def chunked(body: bytes, size: int = 1000) -> bytes:
    pieces = [body[i : i + size] for i in range(0, len(body), size)]
    return b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in pieces) + b"0\r\n\r\n"


def test_chunked_bodies_are_accepted_and_bounded(receiver: Receiver) -> None:
    assert exchange(receiver.address, post_head("Transfer-Encoding: chunked") + chunked(BODY))[0] == 200
    gzipped = gzip.compress(BODY)
    ok = post_head("Transfer-Encoding: chunked", "Content-Encoding: gzip") + chunked(gzipped, 100)
    assert exchange(receiver.address, ok)[0] == 200
    # A chunk announcing more than the body limit is refused before any of it is read.
    assert exchange(receiver.address, post_head("Transfer-Encoding: chunked") + b"4000000\r\n")[0] == 413
    assert exchange(receiver.address, post_head("Transfer-Encoding: chunked") + b"zz\r\n")[0] == 400


def test_json_nested_100000_levels_is_a_400(receiver: Receiver) -> None:
    body = b'{"resourceSpans": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    response = requests.post(
        f"{receiver.url}/v1/traces", data=body, headers={"Content-Type": "application/json"}, timeout=10
    )
    assert response.status_code == 400
    assert "nested" in response.json()["message"]


@pytest.fixture(scope="module")
def gzip_bomb() -> bytes:
    """300 MB of zeros in ~300 KB of gzip (made in pieces, never held whole)."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    zeros = bytes(MiB)
    body = b"".join(compressor.compress(zeros) for _ in range(300)) + compressor.flush()
    assert len(body) < 400_000
    return body


def post_gzip(url: str, body: bytes) -> requests.Response:
    headers = {"Content-Type": "application/x-protobuf", "Content-Encoding": "gzip"}
    return requests.post(f"{url}/v1/traces", data=body, headers=headers, timeout=60)


def test_a_gzip_bomb_that_tells_its_size_is_refused_without_inflating(
    receiver: Receiver, gzip_bomb: bytes
) -> None:
    response = post_gzip(receiver.url, gzip_bomb)
    assert response.status_code == 413
    assert "314572800 bytes exceeds" in Status.FromString(response.content).message


def test_eight_concurrent_gzip_bombs_keep_peak_memory_bounded(receiver: Receiver, gzip_bomb: bytes) -> None:
    # The worst case: the gzip trailer lies about the size (checked only at the end of the stream), so
    # each bomb is inflated until its limit or the shared budget stops it.
    liar = gzip_bomb[:-4] + (1000).to_bytes(4, "little")
    # Bound: what the receiver held before, plus its in-flight budget for bodies, plus 64 MiB for the
    # rest (the bombs' compressed bodies, one inflate step each, thread stacks, allocator slack).
    # Before the fix: +1.15 GB.
    receiver.reset_peak_rss()
    before = receiver.status("VmRSS")
    bound = before + DEFAULT_MAX_INFLIGHT + 64 * MiB
    with ThreadPoolExecutor(8) as pool:
        responses = list(pool.map(lambda _: post_gzip(receiver.url, liar), range(8)))
    peak = receiver.status("VmHWM")
    print(f"peak RSS {peak / MiB:.0f} MiB, before {before / MiB:.0f} MiB, bound {bound / MiB:.0f} MiB")
    # 413: over the per-request limit; 503 + Retry-After: over the budget shared by all requests
    assert {r.status_code for r in responses} <= {413, 503}
    assert all(r.headers["Retry-After"] == "1" for r in responses if r.status_code == 503)
    assert peak < bound, f"peak RSS {peak / MiB:.0f} MiB over the bound {bound / MiB:.0f} MiB"
    assert requests.get(f"{receiver.url}/health", timeout=5).json()["inflight_bytes"] == 0


def test_stalled_connections_are_capped_answered_503_and_timed_out(receiver: Receiver) -> None:
    idle_threads = receiver.status("Threads")
    stalled = []
    for _ in range(3 * MAX_CONNECTIONS):
        sock = socket.create_connection(receiver.address, timeout=5)
        sock.sendall(b"POST /v1/traces HTTP/1.1\r\nContent-Length: 100\r\n")  # and then nothing
        stalled.append(sock)
    try:
        assert receiver.status("Threads") <= idle_threads + MAX_CONNECTIONS
        refused = []
        for sock in stalled:
            sock.settimeout(0.2)
            try:
                answer = sock.recv(4096)
            except TimeoutError:
                continue
            if answer.startswith(b"HTTP/1.1 503"):
                refused.append(answer)
        assert len(refused) >= 2 * MAX_CONNECTIONS
        assert all(re.search(rb"\r\nRetry-After: [1-9]", answer) for answer in refused)
        # The read timeout frees every thread that waited on a stalled client.
        assert wait_until(lambda: receiver.status("Threads") <= idle_threads, timeout=READ_TIMEOUT + 5)
    finally:
        for sock in stalled:
            sock.close()
    assert requests.get(f"{receiver.url}/health", timeout=5).status_code == 200


def test_a_client_that_vanishes_is_one_debug_line_not_a_traceback(receiver: Receiver) -> None:
    seen = len(receiver.lines)
    for _ in range(20):
        sock = socket.create_connection(receiver.address, timeout=5)
        sock.sendall(post_head("Content-Length: 1000") + b"\0" * 10)
        time.sleep(0.02)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # close with a reset
        sock.close()

    def disconnects() -> list[str]:
        return [line for line in receiver.lines[seen:] if "disconnected" in line]

    assert wait_until(lambda: len(disconnects()) >= 20, timeout=5), "".join(receiver.lines[seen:])
    time.sleep(0.2)
    assert len(disconnects()) == 20 and all(" DEBUG " in line for line in disconnects())
    assert not any("Traceback" in line for line in receiver.lines[seen:])


def test_still_serves_valid_requests(receiver: Receiver) -> None:
    response = requests.post(
        f"{receiver.url}/v1/traces", data=BODY, headers={"Content-Type": "application/x-protobuf"}, timeout=10
    )
    assert response.status_code == 200
    health = requests.get(f"{receiver.url}/health", timeout=5).json()
    assert health["pending_spans"] >= 20
