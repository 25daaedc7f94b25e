"""n8n's published public-API schemas (kept in ``tests/specs/n8n``) as jsonschema validators.

The YAML files are loaded as they are in n8n's repository; ``$ref``s across files are resolved by the
``referencing`` library (each file is a resource under its ``file://`` URI). OpenAPI 3.0's ``nullable``
is translated to JSON Schema, ``date-time`` is checked, and in strict mode every object that lists its
properties rejects undocumented ones, so a fake that invents fields fails.
"""

from __future__ import annotations

import functools
from datetime import datetime
from pathlib import Path
from typing import Any

import jsonschema
import yaml
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

_SKIP = {"example", "examples", "description"}


def spec_dir() -> Path:
    """The repository's copy of n8n's public-API spec (``tests/specs/n8n``, sources in ``SOURCES``)."""
    return Path(__file__).resolve().parents[2] / "specs" / "n8n"


def to_json_schema(node: Any, *, strict: bool) -> Any:
    """OpenAPI 3.0 schema → JSON Schema (draft 4 + nullable as a null type)."""
    if isinstance(node, list):
        return [to_json_schema(n, strict=strict) for n in node]
    if not isinstance(node, dict):
        return node
    out = {}
    for key, value in node.items():
        if key == "properties" and isinstance(value, dict):  # property names are data, not keywords
            out[key] = {name: to_json_schema(sub, strict=strict) for name, sub in value.items()}
        else:
            out[key] = value if key in _SKIP else to_json_schema(value, strict=strict)
    if out.pop("nullable", False) is True:
        if "type" in out:
            out["type"] = [out["type"], "null"] if isinstance(out["type"], str) else [*out["type"], "null"]
            if "enum" in out:
                out["enum"] = [*out["enum"], None]
        else:
            out = {"anyOf": [out, {"type": "null"}]}
    if (
        strict
        and out.get("type") in ("object", ["object", "null"])
        and "properties" in out
        and "additionalProperties" not in out
    ):
        out["additionalProperties"] = False
    return out


def _format_checker() -> jsonschema.FormatChecker:
    checker = jsonschema.FormatChecker(formats=())

    @checker.checks("date-time", raises=ValueError)
    def _date_time(value: object) -> bool:
        if not isinstance(value, str):
            return True
        if "T" not in value or datetime.fromisoformat(value).tzinfo is None:
            raise ValueError(f"{value!r} is not an RFC 3339 date-time")
        return True

    return checker


@functools.lru_cache(maxsize=2)
def registry(strict: bool = True) -> Registry:
    def retrieve(uri: str) -> Resource:
        path = Path(uri.removeprefix("file://"))
        if not path.is_file():
            raise FileNotFoundError(f"$ref to {path}: not in the stored n8n specs")
        return Resource.from_contents(
            to_json_schema(yaml.safe_load(path.read_text()), strict=strict), default_specification=DRAFT4
        )

    return Registry(retrieve=retrieve)


def _pointer(*parts: str) -> str:
    return "/".join(p.replace("~", "~0").replace("/", "~1") for p in parts)


def file_uri(relative: str) -> str:
    return (spec_dir() / relative).resolve().as_uri()


@functools.lru_cache(maxsize=16)
def response_validator(
    operation_file: str, status: str = "200", *, strict: bool = True, method: str | None = None
) -> jsonschema.Validator:
    """Validator for the JSON body of ``status`` of the operation in ``operation_file`` (relative path).

    Generated operation files hold one operation; the classic path files nest it under ``method``.
    """
    parts = ([method] if method else []) + ["responses", status, "content", "application/json", "schema"]
    uri = file_uri(operation_file)
    # Resolve the pointer once (a $ref per validation is slow); "id" keeps nested relative $refs working.
    schema = {
        "id": uri,
        "allOf": [registry(strict).resolver().lookup(f"{uri}#/" + _pointer(*parts)).contents],
    }
    return jsonschema.Draft4Validator(schema, registry=registry(strict), format_checker=_format_checker())


@functools.lru_cache(maxsize=16)
def parameters(operation_file: str) -> dict[str, dict[str, Any]]:
    """Query parameters of an operation by name, ``$ref``s (e.g. shared limit.yml) resolved."""
    uri = file_uri(operation_file)
    resolver = registry(False).resolver(base_uri=uri)
    doc = resolver.lookup(uri).contents
    params: dict[str, dict[str, Any]] = {}
    for param in doc.get("parameters", []):
        if "$ref" in param:
            param = resolver.lookup(param["$ref"]).contents
        params[param["name"]] = param
    return params


def query_errors(operation_file: str, query: dict[str, str]) -> list[str]:
    """Problems with a request's query string: unknown parameters, values outside their schema."""
    documented = parameters(operation_file)
    problems = []
    for name, raw in query.items():
        param = documented.get(name)
        if param is None or param.get("in") != "query":
            problems.append(f"{name}: not a query parameter of {Path(operation_file).name}")
            continue
        schema = to_json_schema(param.get("schema", {}), strict=False)
        value: object = raw
        if schema.get("type") in ("number", "integer"):
            try:
                value = float(raw)
            except ValueError:
                problems.append(f"{name}: {raw!r} is not a number")
                continue
        problems += [
            f"{name}: {e}"
            for e in errors(jsonschema.Draft4Validator(schema, format_checker=_format_checker()), value)
        ]
    return problems


def errors(validator: jsonschema.Validator, body: Any, limit: int = 3) -> list[str]:
    """Readable validation errors (path: message), at most ``limit``."""
    out = []
    for error in validator.iter_errors(body):
        out.append(f"{'/'.join(map(str, error.absolute_path)) or '<root>'}: {error.message[:200]}")
        if len(out) >= limit:
            break
    return out


EXECUTIONS = "handlers/executions/spec/paths/getExecutions.generated.yml"
EXECUTION = "handlers/executions/spec/paths/getExecution.generated.yml"
WORKFLOWS = "handlers/workflows/spec/paths/getWorkflows.generated.yml"
CLASSIC_EXECUTIONS = "handlers/executions/spec/paths/executions.yml"
