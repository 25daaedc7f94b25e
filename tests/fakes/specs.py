"""The official API schemas kept in ``tests/specs`` as jsonschema validators, for the test servers.

- Grafana HTTP API (``grafana-api-11.4.json``, Swagger 2.0): definitions are JSON Schema draft 4 plus
  ``format``; the document is one resource, so ``#/definitions/…`` refs resolve inside it. In strict mode
  every object that lists its properties rejects others (a fake that invents a field, or a client that
  misspells one, fails).
- Grafana dashboard JSON (grafana-foundation-sdk ``dashboard.jsonschema.json``, draft 7). Its generator
  renders CUE's "any value" (``_``) as "an object", which rejects what Grafana itself writes; three such
  places are given back their CUE type, nothing else is changed: a datasource plugin's variable ``query``
  as an object of scalar fields (``{"editorType": "sql", "rawSql": "…"}``, grafana.md's noted false
  positive), a field override's ``matcher.options`` (``"byName"`` takes the field name, a string) and an
  override property's ``value`` (``{"id": "unit", "value": "ms"}``).
- Metabase (``metabase-openapi-subset.json``, OpenAPI 3.1 = JSON Schema 2020-12). The upstream generator
  renders two malli dispatch branches as unconstrained schemas (``parameter.dimension`` is ``{}`` and the
  legacy ``:field`` clause an empty ``allOf``), which makes every ``["variable", …]`` target match two
  ``oneOf`` branches. Those two are given their dispatch shape (first element ``"dimension"`` /
  ``"field"``), as Metabase itself dispatches; nothing else is changed.
"""

from __future__ import annotations

import copy
import functools
import json
import re
from datetime import datetime
from pathlib import Path
from typing import Any

import jsonschema
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4, DRAFT7, DRAFT202012

SPECS = Path(__file__).resolve().parents[1] / "specs"
_SKIP = {"example", "examples", "description", "x-go-name"}


def _strict(node: Any) -> Any:
    """Objects that list ``properties`` and say nothing about others reject undocumented ones."""
    if isinstance(node, list):
        return [_strict(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {}
    for key, value in node.items():
        if key == "properties" and isinstance(value, dict):
            out[key] = {name: _strict(sub) for name, sub in value.items()}
        else:
            out[key] = value if key in _SKIP else _strict(value)
    if out.get("type") == "object" and "properties" in out and "additionalProperties" not in out:
        out["additionalProperties"] = False
    return out


def _format_checker() -> jsonschema.FormatChecker:
    checker = jsonschema.FormatChecker(formats=())

    @checker.checks("date-time", raises=ValueError)
    def _date_time(value: object) -> bool:
        if isinstance(value, str) and datetime.fromisoformat(value.replace("Z", "+00:00")).tzinfo is None:
            raise ValueError(f"{value!r} is not an RFC 3339 date-time")
        return True

    return checker


def errors(validator: jsonschema.Validator, instance: Any, limit: int = 3, ignore=None) -> list[str]:
    """Readable validation errors (``path: message``), at most ``limit``; ``ignore(error)`` skips some."""
    out = []
    for error in validator.iter_errors(instance):
        if ignore is not None and ignore(error):
            continue
        message = error.message[:300]
        if error.context:  # oneOf/anyOf: say which branch came closest and why it failed
            best = jsonschema.exceptions.best_match(error.context)
            message = f"{'/'.join(map(str, best.absolute_path))}: {best.message[:300]}"
        out.append(f"{'/'.join(map(str, error.absolute_path)) or '<root>'}: {message}")
        if len(out) >= limit:
            break
    return out


# -- Grafana HTTP API -------------------------------------------------------------------------------------

GRAFANA_URI = "urn:smarter-obs:grafana-api-11.4"


@functools.lru_cache(maxsize=2)
def grafana_spec(strict: bool = True) -> dict[str, Any]:
    raw = json.loads((SPECS / "grafana-api-11.4.json").read_text())
    return _strict(raw) if strict else raw


@functools.lru_cache(maxsize=2)
def _grafana_registry(strict: bool) -> Registry:
    resource = Resource.from_contents(grafana_spec(strict), default_specification=DRAFT4)
    return Registry().with_resource(GRAFANA_URI, resource)


def _grafana_operation(method: str, path: str) -> dict[str, Any]:
    spec = grafana_spec(False)
    try:
        return spec["paths"][path][method.lower()]
    except KeyError:
        raise KeyError(f"{method} {path} is not an operation of the Grafana 11.4 API spec") from None


@functools.lru_cache(maxsize=64)
def grafana_request_validator(method: str, path: str) -> jsonschema.Validator | None:
    """Validator of the JSON body of ``method path`` (a spec path such as ``/dashboards/db``), or None."""
    for param in _grafana_operation(method, path).get("parameters", []):
        if param.get("in") == "body":
            return _grafana_validator(param["schema"])
    return None


@functools.lru_cache(maxsize=128)
def grafana_response_validator(method: str, path: str, status: int) -> jsonschema.Validator:
    """Validator of the body the spec documents for ``status`` of ``method path``."""
    responses = _grafana_operation(method, path)["responses"]
    response = responses.get(str(status))
    if response is None:
        raise KeyError(f"{method} {path}: the spec documents no {status} response (only {sorted(responses)})")
    if "$ref" in response:
        response = grafana_spec(False)["responses"][response["$ref"].rsplit("/", 1)[1]]
    return _grafana_validator(response.get("schema", {}))


def grafana_query_parameters(method: str, path: str) -> dict[str, dict[str, Any]]:
    return {
        p["name"]: p for p in _grafana_operation(method, path).get("parameters", []) if p.get("in") == "query"
    }


def _grafana_validator(schema: dict[str, Any]) -> jsonschema.Validator:
    text = json.dumps(schema).replace('"#/', f'"{GRAFANA_URI}#/')
    strict = _strict(json.loads(text))
    return jsonschema.Draft4Validator(
        strict, registry=_grafana_registry(True), format_checker=_format_checker()
    )


# -- Grafana dashboard JSON schema ------------------------------------------------------------------------


#: (definition, property) whose CUE type is ``_`` (any value) but which the generated schema types as object.
_CUE_ANY = (("MatcherConfig", "options"), ("DynamicConfigValue", "value"))


@functools.lru_cache(maxsize=1)
def dashboard_validator() -> jsonschema.Validator:
    path = SPECS / "grafana-foundation-sdk" / "jsonschema" / "dashboard.jsonschema.json"
    schema = json.loads(path.read_text())
    for definition, prop in _CUE_ANY:
        node = schema["definitions"][definition]["properties"][prop]
        assert node.get("type") == "object", f"{definition}.{prop} changed upstream: review _CUE_ANY"
        schema["definitions"][definition]["properties"][prop] = {"description": node.get("description", "")}
    registry = Registry().with_resource(path.as_uri(), Resource.from_contents(schema, DRAFT7))
    return jsonschema.Draft7Validator(schema, registry=registry, format_checker=_format_checker())


_VARIABLE_QUERY = re.compile(r"^templating/list/\d+/query$")


def _plugin_variable_query(error: jsonschema.ValidationError) -> bool:
    """The schema's known false positive: a plugin variable query object whose fields are scalars."""
    path = "/".join(map(str, error.absolute_path))
    return (
        bool(_VARIABLE_QUERY.match(path))
        and error.validator == "oneOf"
        and isinstance(error.instance, dict)
        and all(isinstance(v, (str, int, float, bool)) or v is None for v in error.instance.values())
    )


def dashboard_errors(dashboard: Any) -> list[str]:
    """Problems with a dashboard JSON model according to the foundation SDK's schema (see module doc)."""
    return errors(dashboard_validator(), dashboard, limit=5, ignore=_plugin_variable_query)


# -- Metabase OpenAPI subset ------------------------------------------------------------------------------

METABASE_URI = "urn:smarter-obs:metabase-openapi-subset"
_DISPATCH = {  # malli :multi branches the generator left unconstrained → their dispatch shape
    "metabase.lib.schema.parameter.dimension": {
        "type": "array",
        "minItems": 2,
        "prefixItems": [{"const": "dimension"}],
    },
    "metabase.legacy-mbql.schema.field": {
        "type": "array",
        "minItems": 3,
        "prefixItems": [{"const": "field"}],
    },
}


@functools.lru_cache(maxsize=1)
def metabase_spec() -> dict[str, Any]:
    spec = json.loads((SPECS / "metabase-openapi-subset.json").read_text())
    patched = copy.deepcopy(spec)
    for name, shape in _DISPATCH.items():
        assert name in patched["components"]["schemas"], f"{name} vanished from the Metabase subset"
        patched["components"]["schemas"][name] = shape
    return patched


@functools.lru_cache(maxsize=1)
def _metabase_registry() -> Registry:
    resource = Resource.from_contents(metabase_spec(), default_specification=DRAFT202012)
    return Registry().with_resource(METABASE_URI, resource)


def _metabase_validator(schema: dict[str, Any]) -> jsonschema.Validator:
    text = json.dumps(schema).replace('"#/', f'"{METABASE_URI}#/')
    return jsonschema.Draft202012Validator(
        json.loads(text), registry=_metabase_registry(), format_checker=_format_checker()
    )


def metabase_operation(method: str, path: str) -> dict[str, Any]:
    try:
        return metabase_spec()["paths"][path][method.lower()]
    except KeyError:
        raise KeyError(f"{method} {path} is not an operation of the Metabase API subset") from None


@functools.lru_cache(maxsize=32)
def metabase_request_validator(method: str, path: str) -> jsonschema.Validator | None:
    content = metabase_operation(method, path).get("requestBody", {}).get("content", {})
    schema = content.get("application/json", {}).get("schema")
    return None if schema is None else _metabase_validator(schema)


@functools.lru_cache(maxsize=64)
def metabase_parameter_validator(method: str, path: str, name: str) -> jsonschema.Validator:
    for param in metabase_operation(method, path).get("parameters", []):
        if param["name"] == name:
            return _metabase_validator(param.get("schema", {}))
    raise KeyError(f"{method} {path} has no parameter {name!r}")


def metabase_parameter_names(method: str, path: str, where: str) -> set[str]:
    return {p["name"] for p in metabase_operation(method, path).get("parameters", []) if p["in"] == where}


@functools.lru_cache(maxsize=16)
def metabase_component_validator(name: str) -> jsonschema.Validator:
    """Validator of one ``components/schemas`` entry (the subset declares no response bodies; the fake
    checks the parts of its responses that have a schema: parameters, parameter mappings)."""
    return _metabase_validator({"$ref": f"#/components/schemas/{name}"})
