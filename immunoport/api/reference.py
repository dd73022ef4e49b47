"""ImmPort's Shared Data API as its published OpenAPI client describes it.

The packaged copy (schema/reference/immport-api-endpoints.json) gives every endpoint's
path, parameters and answer fields; the endpoints here are declared from it, so their
names and types are ImmPort's and our OpenAPI description documents the same shapes.
"""

import json
from datetime import datetime
from functools import cache
from typing import Any

from ninja import Schema
from pydantic import create_model

from immunoport.schema.reference import REFERENCE_DIR

SOURCE = REFERENCE_DIR / "immport-api-endpoints.json"

# The reference's type names; "array<Model>" fields hold records of another model.
TYPES: dict[str, Any] = {"str": str, "number": float, "int": int, "datetime": datetime}


@cache
def endpoints() -> dict[str, dict[str, Any]]:
    """Every documented endpoint by its path (``/result/elisa``, ``/api/study/arm/{...}``)."""
    described = json.loads(SOURCE.read_text())
    return {endpoint["path"]: endpoint for endpoint in described["endpoints"]}


def endpoint(path: str) -> dict[str, Any]:
    return endpoints()[path]


def field_names(path: str) -> list[str]:
    """The names of an endpoint's answer fields, in ImmPort's order."""
    return [field["name"] for field in endpoint(path)["response"]["fields"] or []]


def _python_type(name: str) -> Any:
    if name.startswith("array<"):
        return list[dict[str, Any]]
    return TYPES[name]


@cache
def answer_model(path: str) -> type[Schema]:
    """The documented record of an endpoint's answer, every field optional as in ImmPort."""
    response = endpoint(path)["response"]
    fields: dict[str, Any] = {
        field["name"]: (_python_type(field["type"]) | None, None)
        for field in response["fields"] or []
    }
    return create_model(response["item_model"], __base__=Schema, **fields)
