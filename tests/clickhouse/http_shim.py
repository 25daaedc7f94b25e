"""ClickHouse's HTTP interface in front of the session's embedded engine.

ClickHouse servers cannot be installed here, so the ``http(s)://`` code paths (clickhouse-connect's HTTP
client: settings as URL parameters, inserts as ``INSERT … FORMAT X`` plus a body, errors as HTTP 500 with
``X-ClickHouse-Exception-Code``) are exercised against this shim. It only translates the transport: every
statement, setting and insert body goes to the real ClickHouse engine (chDB), which accepts or rejects it
exactly as a server would. Requests are recorded for assertions.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qsl, urlsplit

# URL parameters that are HTTP-interface controls, not query settings.
_TRANSPORT = {
    "query",
    "database",
    "default_format",
    "session_id",
    "session_timeout",
    "session_check",
    "query_id",
    "quota_key",
    "compress",
    "decompress",
    "wait_end_of_query",
    "client_protocol_version",
    "role",
    "send_progress_in_http_headers",
    "http_headers_progress_interval_ms",
    "enable_http_compression",
    "buffer_size",
    "user",
    "password",
}
_INSERT = re.compile(
    r"^\s*INSERT\s+INTO\s+(?P<target>.+?)\s+FORMAT\s+(?P<format>\w+)\s*$", re.IGNORECASE | re.DOTALL
)
_TRAILING_FORMAT = re.compile(r"\bFORMAT\s+(\w+)\s*;?\s*$", re.IGNORECASE)


def _decompress(body: bytes, encoding: str | None) -> bytes:
    if not encoding or encoding == "identity":
        return body
    if encoding == "lz4":
        import lz4.frame

        return lz4.frame.decompress(body)
    if encoding == "zstd":
        import zstandard

        return zstandard.ZstdDecompressor().decompressobj().decompress(body)
    if encoding == "gzip":
        import gzip

        return gzip.decompress(body)
    if encoding == "deflate":
        import zlib

        return zlib.decompress(body)
    raise ValueError(f"Content-Encoding {encoding!r} is not supported by the shim")


class Request:
    def __init__(self, method: str, params: dict[str, str], headers: dict[str, str], body: bytes) -> None:
        self.method, self.params, self.headers, self.body = method, params, headers, body


class ClickHouseHttpShim:
    """``with ClickHouseHttpShim(path) as shim:`` → ``shim.url`` (``http://user:password@127.0.0.1:port``)."""

    def __init__(self, chdb_path: str) -> None:
        import clickhouse_connect

        self.requests: list[Request] = []
        self._engine = clickhouse_connect.get_client(interface="chdb", path=chdb_path)
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://shim:shim-password@127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> Self:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._engine.close()

    def _execute(self, params: dict[str, str], body: bytes) -> tuple[bytes, str]:
        settings = {k: v for k, v in params.items() if k not in _TRANSPORT and not k.startswith("param_")}
        query = params.get("query")
        if query is None:  # the statement is the body, or its first line followed by the data to insert
            head, _, rest = body.partition(b"\n")
            if _INSERT.match(head.decode(errors="replace")):
                query, body = head.decode(), rest
            else:
                query, body = body.decode(), b""
        with self._lock:
            if params.get("database"):
                self._engine.database = params["database"]
            insert = _INSERT.match(query) if body else None
            if insert:
                with tempfile.NamedTemporaryFile(delete=False) as data:
                    data.write(body)
                try:
                    clause = "".join(f", {k} = '{v}'" for k, v in settings.items()).lstrip(", ")
                    self._engine.command(
                        f"INSERT INTO {insert['target']} FROM INFILE '{data.name}'"
                        f"{' SETTINGS ' + clause if clause else ''} FORMAT {insert['format']}"
                    )
                finally:
                    os.unlink(data.name)
                return b"", ""
            fmt = params.get("default_format") or "TabSeparated"
            trailing = _TRAILING_FORMAT.search(query)
            if trailing:
                fmt, query = trailing.group(1), query[: trailing.start()]
            binds = {k.removeprefix("param_"): v for k, v in params.items() if k.startswith("param_")}
            return self._engine.raw_query(
                query, parameters=binds or None, settings=settings or None, fmt=fmt
            ), fmt

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        shim = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                self._handle()

            def do_POST(self) -> None:
                self._handle()

            def _handle(self) -> None:
                url = urlsplit(self.path)
                params = dict(parse_qsl(url.query, keep_blank_values=True))
                body = _decompress(self._body(), self.headers.get("Content-Encoding"))
                shim.requests.append(Request(self.command, params, dict(self.headers), body))
                if url.path == "/ping":
                    return self._send(200, b"Ok.\n", {})
                try:
                    out, fmt = shim._execute(params, body)
                except Exception as exc:  # noqa: BLE001 - the engine's error becomes the HTTP error, as a server's
                    code = re.search(r"Code: (\d+)", str(exc))
                    return self._send(
                        500,
                        str(exc).encode(),
                        {"X-ClickHouse-Exception-Code": code.group(1) if code else "1000"},
                    )
                headers = {"X-ClickHouse-Summary": json.dumps({"written_rows": "0"})}
                if fmt:
                    headers["X-ClickHouse-Format"] = fmt
                return self._send(200, out, headers)

            def _body(self) -> bytes:
                if self.headers.get("Transfer-Encoding", "").lower() != "chunked":
                    return self.rfile.read(int(self.headers.get("Content-Length") or 0))
                chunks = []
                while size := int(self.rfile.readline().split(b";")[0], 16):
                    chunks.append(self.rfile.read(size))
                    self.rfile.readline()
                self.rfile.readline()
                return b"".join(chunks)

            def _send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
                self.send_response(status)
                for key, value in {
                    "X-ClickHouse-Timezone": "UTC",
                    "X-ClickHouse-Query-Id": "shim",
                    "Content-Length": str(len(body)),
                    **headers,
                }.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(body)

        return Handler
