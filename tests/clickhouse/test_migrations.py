"""ClickHouse migrations: exact Collector schema, idempotence, failures, cluster rendering."""

from __future__ import annotations

import pytest

from smarter_obs.db.clickhouse import migrate, migrations_dir, render
from smarter_obs.errors import ConfigError, MigrationError

# The clickhouseexporter INSERT contract (column → type), current Collector version.
COLLECTOR_COLUMNS = {
    "Timestamp": "DateTime64(9)",
    "TraceId": "String",
    "SpanId": "String",
    "ParentSpanId": "String",
    "TraceState": "String",
    "SpanName": "LowCardinality(String)",
    "SpanKind": "LowCardinality(String)",
    "ServiceName": "LowCardinality(String)",
    "ResourceAttributes": "Map(LowCardinality(String), String)",
    "ScopeName": "String",
    "ScopeVersion": "String",
    "SpanAttributes": "Map(LowCardinality(String), String)",
    "Duration": "UInt64",
    "StatusCode": "LowCardinality(String)",
    "StatusMessage": "String",
    "Events.Timestamp": "Array(DateTime64(9))",
    "Events.Name": "Array(LowCardinality(String))",
    "Events.Attributes": "Array(Map(LowCardinality(String), String))",
    "Links.TraceId": "Array(String)",
    "Links.SpanId": "Array(String)",
    "Links.TraceState": "Array(String)",
    "Links.Attributes": "Array(Map(LowCardinality(String), String))",
}


def test_otel_traces_matches_the_collector_contract(clickhouse) -> None:
    described = {row[0]: row[1] for row in clickhouse.query("DESCRIBE TABLE otel_traces").result_rows}
    assert described == COLLECTOR_COLUMNS
    ddl = clickhouse.command("SHOW CREATE TABLE otel_traces")
    for clause in (
        "PARTITION BY toDate(Timestamp)",
        "ORDER BY (ServiceName, SpanName, toDateTime(Timestamp))",
        "TTL toDateTime(Timestamp) + toIntervalDay(30)",
        "ttl_only_drop_parts = 1",
        "INDEX idx_trace_id TraceId TYPE bloom_filter(0.001) GRANULARITY 1",
        "INDEX idx_duration Duration TYPE minmax GRANULARITY 1",
    ):
        assert clause in ddl
    lookup = {
        row[0]: row[1] for row in clickhouse.query("DESCRIBE TABLE otel_traces_trace_id_ts").result_rows
    }
    assert lookup == {"TraceId": "String", "Start": "DateTime", "End": "DateTime"}


def test_migrate_is_idempotent_and_recorded(chdb_url: str, clickhouse_database: str) -> None:
    messages: list[str] = []
    first = migrate(chdb_url, database=clickhouse_database, progress=messages.append)
    assert [m.version for m in first.applied] == [m.version for m in render(database=clickhouse_database)]
    assert messages == [f"applying {m.path.name}" for m in first.applied]
    second = migrate(chdb_url, database=clickhouse_database)
    assert second.applied == [] and len(second.skipped) == len(first.applied)

    from smarter_obs.sinks.clickhouse import ClickHouseSink

    with ClickHouseSink(chdb_url, database=clickhouse_database) as sink:
        recorded = sink.query_rows(
            f"SELECT version, name, checksum FROM {clickhouse_database}.schema_migrations "
            "FINAL ORDER BY version"
        )
        assert recorded == [(m.version, m.name, m.checksum) for m in first.applied]
        tables = {row[0] for row in sink.query_rows(f"SHOW TABLES FROM {clickhouse_database}")}
    assert {
        "otel_traces",
        "otel_traces_trace_id_ts",
        "otel_traces_trace_id_ts_mv",
        "mcp_tool_calls_1m",
        "mcp_tool_calls_1m_mv",
        "schema_migrations",
    } <= tables


def test_failed_migration_names_file_and_server_message(
    chdb_url: str, clickhouse_database: str, tmp_path
) -> None:
    (tmp_path / "0001_ok.sql").write_text(
        "CREATE TABLE IF NOT EXISTS {{ database }}.ok (x UInt8) "
        "ENGINE = {{ engine('MergeTree') }} ORDER BY x;\n"
    )
    (tmp_path / "0002_broken.sql").write_text(
        "CREATE TABLE {{ database }}.broken (x NoSuchType) ENGINE = MergeTree ORDER BY x;\n"
    )
    with pytest.raises(MigrationError) as info:
        migrate(chdb_url, database=clickhouse_database, directory=tmp_path)
    assert "0002_broken.sql" in str(info.value) and "NoSuchType" in str(info.value)
    assert info.value.version == 2
    # the good file was recorded; fixing the broken one and re-running applies only it
    (tmp_path / "0002_broken.sql").write_text(
        "CREATE TABLE IF NOT EXISTS {{ database }}.broken (x UInt8) ENGINE = MergeTree ORDER BY x;\n"
    )
    report = migrate(chdb_url, database=clickhouse_database, directory=tmp_path)
    assert [m.version for m in report.applied] == [2]


def test_cluster_mode_renders_on_cluster_and_replicated_engines() -> None:
    single = render(database="otel", ttl_days=7)
    clustered = render(database="otel", ttl_days=0, cluster="analytics")
    assert [m.version for m in single] == [m.version for m in clustered]
    for m in clustered:
        for statement in m.statements():
            if statement.startswith("CREATE"):
                assert "ON CLUSTER `analytics`" in statement.splitlines()[0], statement
            if "ENGINE =" in statement:
                assert "ENGINE = Replicated" in statement
                assert "'/clickhouse/tables/{shard}/{database}/{table}', '{replica}'" in statement
        assert "TTL" not in m.sql
    assert any("ENGINE = ReplicatedAggregatingMergeTree(" in m.sql for m in clustered)
    for m in single:
        assert "ON CLUSTER" not in m.sql and "Replicated" not in m.sql
    assert "TTL toDateTime(Timestamp) + toIntervalDay(7)" in single[0].sql


@pytest.mark.parametrize(
    "kwargs", [{"database": "otel; DROP"}, {"database": "1abc"}, {"cluster": "a`b"}, {"ttl_days": -1}]
)
def test_invalid_settings_are_config_errors(kwargs: dict) -> None:
    with pytest.raises(ConfigError):
        render(**kwargs)


def test_templates_follow_the_convention() -> None:
    """Every shipped template qualifies its tables with {{ database }} and renders on_cluster."""
    for path in sorted(migrations_dir().glob("*.sql")):
        text = path.read_text()
        for line in text.splitlines():
            if line.startswith(("CREATE TABLE", "CREATE MATERIALIZED VIEW", "CREATE VIEW")):
                assert "{{ database }}." in line and "{{ on_cluster }}" in line, f"{path.name}: {line}"


def test_cluster_ddl_parses_in_clickhouse(clickhouse) -> None:
    """ClickHouse's own parser accepts every statement rendered for a cluster (no cluster needed)."""
    statements = [
        s for m in render(database="otel", cluster="analytics", ttl_days=14) for s in m.statements()
    ]
    assert statements
    for statement in statements:
        formatted = clickhouse.query(
            "SELECT formatQuerySingleLine({q:String})", parameters={"q": statement}
        ).result_rows[0][0]
        if formatted.startswith("CREATE"):
            assert " ON CLUSTER analytics " in formatted, formatted
