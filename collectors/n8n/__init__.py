"""n8n executions collector: n8n public REST API → PostgreSQL/Supabase.

``source.py`` (the API: pages, cursors, retries) → ``rows.py`` (typed rows of ``n8n_executions`` and
``n8n_workflows``; ``trigger.py`` classifies trigger nodes) → ``collector.py`` (one crash-safe, incremental
cycle) → ``cli.py`` (``smarter-obs collect n8n``). See docs/n8n.md.
"""
