"""Redpanda/Kafka lag collector: partition offsets, consumer group commits and lag → ClickHouse.

``source.py`` (the Kafka API) → ``rows.py`` (typed rows of the four ``kafka_*`` tables) → ``collector.py``
(one cycle: ``lag_time`` interpolates lag in seconds, ``status`` evaluates Burrow-style statuses) → the
shared ClickHouse sink; ``cli.py`` is ``smarter-obs collect redpanda``, ``config.py`` its settings. See
docs/redpanda.md.
"""
