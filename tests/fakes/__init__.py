"""Stateful HTTP test servers (Grafana, Metabase) that validate what they receive and send against the
official schemas in ``tests/specs``."""
