"""Request-body validators from the Metabase OpenAPI subset kept in tests/specs (JSON Schema 2020-12).

Upstream's generator renders two malli dispatch branches as unconstrained schemas (``parameter.dimension``
is ``{}`` and the legacy ``:field`` clause an empty ``allOf``), so every ``["variable", …]`` target would
match two ``oneOf`` branches; those two get their dispatch shape (first element ``"dimension"`` /
``"field"``), as Metabase itself dispatches. Nothing else is changed.
"""

from __future__ import annotations

import copy
import functools
import json
from pathlib import Path
from typing import Any

import jsonschema

SPEC = Path(__file__).parents[2] / "specs" / "metabase-openapi-subset.json"


@functools.cache
def _spec() -> dict[str, Any]:
    spec = copy.deepcopy(json.loads(SPEC.read_text()))
    schemas = spec["components"]["schemas"]
    schemas["metabase.lib.schema.parameter.dimension"] = {
        "type": "array",
        "prefixItems": [{"const": "dimension"}],
    }
    schemas["metabase.legacy-mbql.schema.field"] = {"type": "array", "prefixItems": [{"const": "field"}]}
    return spec


def body_errors(method: str, path: str, body: Any) -> list[str]:
    """Why ``body`` is not a valid JSON request body of ``method path`` (empty when it is)."""
    spec = _spec()
    schema = spec["paths"][path][method.lower()]["requestBody"]["content"]["application/json"]["schema"]
    validator = jsonschema.Draft202012Validator({**schema, "components": spec["components"]})
    return [
        f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message[:300]}"
        for e in validator.iter_errors(body)
    ]
