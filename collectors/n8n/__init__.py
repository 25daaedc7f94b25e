"""n8n executions collector: n8n public REST API (source.py) → rows (rows.py, trigger.py) → PostgreSQL (cycle.py).

Run it with ``smarter-obs collect n8n`` (cli.py). See docs/n8n.md.
"""
