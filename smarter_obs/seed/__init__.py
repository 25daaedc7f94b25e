"""Deterministic sample data for the dashboards: SmarterOS business rows (Supabase) and a Chatwoot data set.

Each generator is a pure function of its seed and sizes returning plain rows (so tests can compute the
expected numbers from the same rows in Python), plus a writer that COPYs them into the real tables:

    data = generate_business(seed=7, start=date(2025, 1, 1), days=90)
    write_business(conn, data)                      # tables of provisioning/postgres/0020-0023
    support = generate_chatwoot(seed=7, start=date(2025, 1, 1), days=90)
    create_chatwoot_schema(conn); write_chatwoot(conn, support)   # Chatwoot's own tables

Used by the tests, the benchmarks and the demo.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = [
    "BusinessData",
    "ChatwootData",
    "chatwoot_schema_sql",
    "create_chatwoot_schema",
    "generate_business",
    "generate_chatwoot",
    "write_business",
    "write_chatwoot",
]

if TYPE_CHECKING:
    from smarter_obs.seed.business import BusinessData, generate_business, write_business
    from smarter_obs.seed.chatwoot import (
        ChatwootData,
        chatwoot_schema_sql,
        create_chatwoot_schema,
        generate_chatwoot,
        write_chatwoot,
    )

_HOMES = {
    "BusinessData": "business",
    "generate_business": "business",
    "write_business": "business",
    "ChatwootData": "chatwoot",
    "chatwoot_schema_sql": "chatwoot",
    "create_chatwoot_schema": "chatwoot",
    "generate_chatwoot": "chatwoot",
    "write_chatwoot": "chatwoot",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(f"{__name__}.{home}"), name)
