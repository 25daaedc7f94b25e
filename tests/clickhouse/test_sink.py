"""ClickHouse URL handling, the columnar sink and the single driver-error mapping."""

from __future__ import annotations

import socket

import pytest

from smarter_obs.errors import ConfigError, SinkError, SinkUnavailableError
from smarter_obs.sinks.clickhouse import ClickHouseSink, default_url, map_errors, parse_url


def closed_port() -> int:
    """A local TCP port nobody listens on (bound then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize(
    ("url", "names"),
    [
        ("ftp://host/db", "scheme 'ftp'"),
        ("chdb://relative/dir", "must be absolute"),
        ("chdb://", "needs a data directory"),
        ("http://user:hunter2@:8123/db", "host is missing"),
        ("http://user:hunter2@host:99999/db", "port"),
        ("https://host:8443/a/b", "single database name"),
        ("http://host:8123/bad-name", "database in the URL path"),
        ("http://host:8123/db?x=1", "query strings"),
    ],
)
def test_bad_urls_name_the_bad_part_and_hide_the_password(url: str, names: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_url(url)
    assert names in str(info.value)
    assert "hunter2" not in str(info.value)


def test_url_resolution_order(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.delenv("SMARTER_OBS_CLICKHOUSE_URL", raising=False)
    monkeypatch.setenv("SMARTER_OBS_HOME", str(tmp_path))
    assert default_url() == f"chdb://{tmp_path}/clickhouse"
    assert parse_url(None).path == f"{tmp_path}/clickhouse"
    monkeypatch.setenv("SMARTER_OBS_CLICKHOUSE_URL", "https://alice:s3cr3t@ch.example.com/otel")
    parsed = parse_url(None)
    assert (parsed.host, parsed.port, parsed.username, parsed.password, parsed.database) == (
        "ch.example.com",
        8443,
        "alice",
        "s3cr3t",
        "otel",
    )
    assert "s3cr3t" not in repr(parsed) and "s3cr3t" not in str(parsed)
    assert parse_url("chdb:///srv/ch").path == "/srv/ch"  # the argument wins over the environment


@pytest.fixture(params=["embedded", "server"])
def store_url(request: pytest.FixtureRequest, chdb_url: str) -> str:
    """The session's ClickHouse as ``chdb://`` and as a server URL (HTTP interface in front of it)."""
    return chdb_url if request.param == "embedded" else request.getfixturevalue("shim").url


def test_write_columns_and_rows_then_read_back(store_url: str, clickhouse_database: str) -> None:
    with ClickHouseSink(store_url, database=clickhouse_database) as sink:
        sink.command(f"CREATE DATABASE {clickhouse_database}")
        sink.command(
            f"CREATE TABLE {clickhouse_database}.kv (k String, v UInt64, m Map(String, String), "
            "`N.x` Array(String)) ENGINE = MergeTree ORDER BY k"
        )
        written = sink.write(
            "kv", ["k", "v", "m", "N.x"], [["a", "b"], [1, 2], [{"p": "q"}, {}], [["x1", "x2"], []]]
        )
        written += sink.write(f"{clickhouse_database}.kv", ["k", "v"], [["c", 3], ["d", 4]], columnar=False)
        assert written == 4
        rows = sink.query_rows(f"SELECT k, v, m, `N.x` FROM {clickhouse_database}.kv ORDER BY k")
    assert rows == [("a", 1, {"p": "q"}, ["x1", "x2"]), ("b", 2, {}, []), ("c", 3, {}, []), ("d", 4, {}, [])]
    with pytest.raises(RuntimeError):
        sink.write("kv", ["k"], [["z"]])


def test_write_arrow_then_read_back_and_errors_name_the_table(
    store_url: str, clickhouse_database: str
) -> None:
    import pyarrow as pa

    with ClickHouseSink(store_url, database=clickhouse_database) as sink:
        sink.command(f"CREATE DATABASE {clickhouse_database}")
        sink.command(
            f"CREATE TABLE {clickhouse_database}.kv (k String, v UInt64, "
            "m Map(LowCardinality(String), String)) ENGINE = MergeTree ORDER BY k"
        )
        keys = pa.array(["p", "p", "r"]).dictionary_encode()
        table = pa.table(
            {
                "k": ["a", "b"],
                "v": pa.array([1, 2], pa.uint64()),
                "m": pa.MapArray.from_arrays([0, 1, 3], keys, pa.array(["q", "s", "t"])),
            }
        )
        assert sink.write_arrow("kv", table) == 2
        assert sink.write_arrow("kv", table.slice(0, 0)) == 0
        with pytest.raises(SinkError) as info:
            sink.write_arrow("kv", pa.table({"nope": [1]}))
        assert not isinstance(info.value, SinkUnavailableError)
        assert info.value.table == f"{clickhouse_database}.kv" and info.value.rows == 1
        rows = sink.query_rows(f"SELECT k, v, m FROM {clickhouse_database}.kv ORDER BY k")
    assert rows == [("a", 1, {"p": "q"}), ("b", 2, {"p": "s", "r": "t"})]


def test_a_refused_write_carries_clickhouse_s_error_code(store_url: str, clickhouse_database: str) -> None:
    import pyarrow as pa

    with ClickHouseSink(store_url, database="system") as sink, pytest.raises(SinkError) as info:
        sink.write_arrow("no_such_table", pa.table({"x": [1]}))
    assert info.value.code == 60  # UNKNOWN_TABLE: the receiver keeps its spans for this one


def test_rows_passed_as_columns_is_a_clear_error(chdb_url: str, clickhouse_database: str) -> None:
    sink = ClickHouseSink(chdb_url, database=clickhouse_database)
    with pytest.raises(ValueError, match="columnar=False"):
        sink.write("kv", ["k", "v"], [["a", 1], ["b", 2], ["c", 3]])


def test_unknown_table_is_a_non_retryable_sink_error(chdb_url: str, clickhouse_database: str) -> None:
    with ClickHouseSink(chdb_url, database="system") as sink, pytest.raises(SinkError) as info:
        sink.write("no_such_table", ["x"], [[1]])
    assert not isinstance(info.value, SinkUnavailableError)
    assert "no_such_table" in str(info.value)


def test_unreachable_server_is_retryable_and_hides_password() -> None:
    sink = ClickHouseSink(f"http://alice:pa55word@127.0.0.1:{closed_port()}/otel", timeout=2)
    with pytest.raises(SinkUnavailableError) as info:
        sink.write("otel_traces", ["SpanName"], [["x"]])
    assert "pa55word" not in str(info.value)
    assert info.value.table == "otel.otel_traces"
    assert sink.ping() is False
    sink.close()


def test_every_driver_exception_is_mapped() -> None:
    """Each clickhouse-connect exception class becomes a SinkError (never escapes unmapped)."""
    from clickhouse_connect.driver import exceptions as ch

    classes = [
        obj
        for obj in vars(ch).values()
        if isinstance(obj, type)
        and issubclass(obj, Exception)
        and obj.__module__ == ch.__name__
        and obj not in (ch.StreamCompleteException, ch.StreamClosedError)
    ]
    assert len(classes) >= 8
    for cls in classes:
        with pytest.raises(SinkError), map_errors("insert into", table="t"):
            raise cls("Code: 60. DB::Exception: boom")
    retryable = [
        ch.OperationalError("HTTPConnectionPool: Failed to establish a new connection: Connection refused"),
        ch.DatabaseError("Code: 252. DB::Exception: Too many parts", code=252),
        ch.DatabaseError("Code: 241. DB::Exception: Memory limit exceeded", code=241),
        ConnectionResetError("reset by peer"),
        TimeoutError("read timed out"),
    ]
    for exc in retryable:
        with pytest.raises(SinkUnavailableError), map_errors("insert into", table="t"):
            raise exc
    with pytest.raises(SinkError) as info, map_errors("insert into", table="t"):
        raise ch.DatabaseError("Code: 516. DB::Exception: Authentication failed", code=516)
    assert not isinstance(info.value, SinkUnavailableError)
