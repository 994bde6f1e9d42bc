"""Checking JSON against the schemas of the served OpenAPI document (/api/v1/openapi.json), strictly: a property
the schema does not list is an error here, so what sageint sends and what the document says cannot drift apart."""

from __future__ import annotations

import copy
from functools import cache

from jsonschema import Draft202012Validator


def _closed(node):
    """Every object schema that lists its properties, closed to others (unless it says otherwise)."""
    if isinstance(node, dict):
        if "properties" in node:
            node.setdefault("additionalProperties", False)
        for value in node.values():
            _closed(value)
    elif isinstance(node, list):
        for item in node:
            _closed(item)
    return node


@cache
def _components() -> dict:
    from api.openapi import openapi_document

    return _closed(copy.deepcopy(openapi_document()["components"]))


def schema_errors(instance, schema_name: str) -> list[str]:
    """What is wrong with `instance` as a `#/components/schemas/<schema_name>` ([] when it is valid)."""
    components = _components()
    assert schema_name in components["schemas"], f"the document has no schema {schema_name}"
    validator = Draft202012Validator(
        {"$ref": f"#/components/schemas/{schema_name}", "components": components}
    )
    return [
        f"{'/'.join(map(str, error.absolute_path)) or '(top)'}: {error.message}"
        for error in validator.iter_errors(instance)
    ]


def assert_matches_schema(instance, schema_name: str) -> None:
    errors = schema_errors(instance, schema_name)
    assert not errors, f"not a valid {schema_name}:\n" + "\n".join(errors)
