"""Fixtures of the ClickHouse tests."""

from __future__ import annotations

import pytest

from tests.clickhouse.http_shim import ClickHouseHttpShim


@pytest.fixture
def shim(chdb_url: str):
    """ClickHouse's HTTP interface in front of the session's embedded engine (``shim.url``: a server URL)."""
    with ClickHouseHttpShim(chdb_url.removeprefix("chdb://")) as server:
        yield server
