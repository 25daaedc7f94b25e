"""Dashboards as code: definitions → compile → publish (plan and publish to Grafana and Metabase)."""
