"""Every tracing test starts from a clean process state: no OTEL_* variables, no provider, nothing said."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from smarter_obs.testing import reset_tracing


@pytest.fixture(autouse=True)
def clean_tracing(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in list(os.environ):
        if name.startswith(("OTEL_", "SMARTER_OBS_CLICKHOUSE")):
            monkeypatch.delenv(name)
    reset_tracing()
    yield
    reset_tracing()
