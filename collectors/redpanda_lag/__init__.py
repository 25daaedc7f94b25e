"""Redpanda/Kafka lag collector: partition offsets, consumer group commits and lag → ClickHouse.

Layout (data flows top to bottom): ``source`` reads the Kafka API → ``collector`` turns a cycle's reads into
rows (``lag_time`` interpolates lag in seconds, ``status`` evaluates Burrow-style statuses) → the shared
ClickHouse sink. ``cli`` is ``smarter-obs collect redpanda``; ``config`` holds its settings.
"""
