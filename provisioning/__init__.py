"""Provisioning files shipped with smarter-obs (installed as ``smarter_obs.provisioning`` package data).

``clickhouse/`` and ``postgres/`` hold the numbered migrations, ``otel-collector/`` the stock Collector
configuration. Read them with ``importlib.resources.files("smarter_obs.provisioning")``.
"""
