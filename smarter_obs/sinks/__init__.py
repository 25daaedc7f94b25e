"""The shared sink layer: every collector and exporter writes rows through these.

- :mod:`smarter_obs.sinks.clickhouse` — ``connect(url)``, ``ClickHouseSink`` (columnar inserts, one error
  mapping).
- :mod:`smarter_obs.sinks._batcher` — bounded in-memory batching in front of a sink.
- :mod:`smarter_obs.sinks.postgres` — PostgreSQL (psycopg 3) connections and the embedded server.

Submodules are imported on demand so ``import smarter_obs.sinks`` stays free of driver imports.
"""
