"""The public surface: honest __all__, clean names, and a cheap `import smarter_obs`."""

from __future__ import annotations

import subprocess
import sys

import pytest

import smarter_obs
import smarter_obs.tracing

HEAVY = (
    "opentelemetry.sdk",
    "clickhouse_connect",
    "chdb",
    "psycopg",
    "confluent_kafka",
    "click",
    "grpc",
    "requests",
)


def _public_names(module: object) -> set[str]:
    """Public names bound in the module (eagerly or lazily via PEP 562), submodules excluded."""
    eager = {n for n, v in vars(module).items() if not n.startswith("_") and not isinstance(v, type(sys))}
    return eager | set(getattr(module, "_LAZY", {}))


def test_all_lists_exactly_the_public_names() -> None:
    assert smarter_obs.__all__ == sorted(_public_names(smarter_obs) | {"__version__"})
    assert smarter_obs.__version__ == "0.1.0"
    for name in smarter_obs.__all__:
        assert getattr(smarter_obs, name) is not None
    assert set(smarter_obs.__all__) <= set(dir(smarter_obs))


def test_tracing_all_lists_exactly_the_public_names() -> None:
    assert sorted(smarter_obs.tracing.__all__) == sorted(_public_names(smarter_obs.tracing))


def test_public_objects_show_clean_module_names() -> None:
    assert smarter_obs.ConfigError.__module__ == "smarter_obs"
    assert smarter_obs.Telemetry.__module__ == "smarter_obs.tracing"
    assert smarter_obs.init_tracing is smarter_obs.tracing.init_tracing


def test_unknown_attribute_raises_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'init_tracer'"):
        smarter_obs.init_tracer  # noqa: B018


def _imported_modules(code: str) -> set[str]:
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    modules = set()
    for line in result.stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            modules.add(line.rsplit("|", 1)[1].strip())
    assert modules, result.stderr[:500]
    return modules


def test_import_smarter_obs_imports_nothing_heavy() -> None:
    modules = _imported_modules("import smarter_obs")
    assert "smarter_obs.errors" in modules
    assert not [m for m in modules if m.split(".")[0] == "opentelemetry"]
    assert not [m for m in modules if m.startswith(HEAVY)]


def test_decorating_tools_needs_only_the_opentelemetry_api() -> None:
    modules = _imported_modules("import smarter_obs\n@smarter_obs.traced_tool\ndef f(): pass")
    assert "opentelemetry.trace" in modules
    assert not [m for m in modules if m.startswith(HEAVY)]


def test_init_tracing_loads_the_sdk_but_no_driver_or_cli() -> None:
    modules = _imported_modules("import smarter_obs; smarter_obs.init_tracing('x')")
    assert "opentelemetry.sdk.trace" in modules
    assert not [m for m in modules if m.startswith(HEAVY[1:])]


def test_init_tracing_imports_nothing_beyond_the_sdk_but_smarter_obs_itself() -> None:
    # import smarter_obs + init_tracing() must cost about what importing the SDK costs (issue 9: ≤ 1.3×,
    # measured by bench/bench_tracing.py): no exporter machinery, no multiprocessing, no difflib.
    ours = _imported_modules("import smarter_obs; smarter_obs.init_tracing('x')")
    bare = _imported_modules("import opentelemetry.sdk.trace")
    assert sorted(m for m in ours - bare if not m.startswith("smarter_obs")) == []
