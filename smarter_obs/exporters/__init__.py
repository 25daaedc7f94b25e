"""OpenTelemetry exporters shipped with smarter-obs (imported lazily by ``init_tracing``).

- :class:`smarter_obs.exporters.clickhouse.ClickHouseSpanExporter` — spans straight into ``otel_traces``.
"""
