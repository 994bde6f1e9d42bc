"""Every tool checked against Sage's own API description (Swagger 2.0 in ../shared/sage-openapi/).

- Writes: every input field lands on a field of Sage's create body (found by sending distinct values through the
  tool and looking where each arrives), with a compatible type and the same maxLength as Sage's resource; the
  body built from only the required inputs holds every field Sage requires.
- Reads: every query parameter is one Sage documents for that path, with a compatible type, enum and maximum;
  the attributes asked for and the fields kept for the model are fields of Sage's resource.

The description is kept outside the repository (settings.SAGE_OPENAPI_DIR): absent, this module skips, and fails
under REQUIRE_SERVICES=1.
"""

import pytest

from agents.catalogue import TOOLS, Tool
from tests.agents.tool_scenario import ISSUE_TOOLS
from tests.sandbox.sage_description import FULL, load_sage_description


@pytest.fixture(scope="module")
def sage():
    return load_sage_description(FULL)


def resolve(sage: dict, schema: dict) -> dict:
    while "$ref" in schema:
        schema = sage["definitions"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def field_at(sage: dict, schema: dict, path: list[str]) -> dict | None:
    """The Sage schema at `path` (property names; "[]" steps into array items), or None when absent."""
    for step in path:
        schema = resolve(sage, schema)
        if step == "[]":
            if schema.get("type") != "array":
                return None
            schema = schema["items"]
        else:
            properties = schema.get("properties", {})
            if step not in properties:
                return None
            schema = properties[step]
    return resolve(sage, schema)


# --- example inputs with a distinct value at every leaf -----------------------------------------------------


class Leaves:
    def __init__(self):
        self.count = 0
        self.where: dict[str, tuple[list[str], dict]] = {}  # value → (input path, input schema)

    def value(self, path: list[str], schema: dict, *, required_only: bool):
        kind = schema.get("type")
        if kind == "object":
            names = schema.get("required", []) if required_only else list(schema["properties"])
            return {
                name: self.value([*path, name], schema["properties"][name], required_only=required_only)
                for name in names
            }
        if kind == "array":
            return [self.value([*path, "[]"], schema["items"], required_only=required_only)]
        self.count += 1
        if "enum" in schema:
            value = schema["enum"][0]
        elif schema.get("format") == "date":
            value = f"2025-01-{self.count:02d}"
        elif kind == "integer":
            value = self.count
        elif isinstance(kind, list):  # amounts and quantities: decimal strings
            value = f"{1000 + self.count}.5"
        else:
            value = f"M{self.count}"
        self.where.setdefault(str(value), (path, schema))
        return value


def body_leaves(value, path=()):
    if isinstance(value, dict):
        for name, item in value.items():
            yield from body_leaves(item, (*path, name))
    elif isinstance(value, list):
        for item in value:
            yield from body_leaves(item, (*path, "[]"))
    else:
        yield list(path), value


def compatible(input_schema: dict, sage_schema: dict) -> bool:
    input_types = input_schema.get("type")
    input_types = set(input_types) if isinstance(input_types, list) else {input_types}
    sage_type = sage_schema.get("type")
    if sage_type == "number":  # amounts: decimal strings (or numbers), as sage-api.md advises
        return input_types <= {"string", "number"}
    return input_types == {sage_type}


WRITE_TOOLS = [tool for tool in TOOLS.values() if tool.sage_body]
READ_TOOLS = [tool for tool in TOOLS.values() if not tool.sage_body]


@pytest.mark.parametrize("tool", WRITE_TOOLS, ids=lambda tool: tool.name)
def test_write_inputs_land_on_sages_create_body_fields(sage, tool: Tool):
    leaves = Leaves()
    arguments = leaves.value([], tool.input_schema, required_only=False)
    call = tool.sage_call(arguments)
    body_definition = sage["definitions"][tool.sage_body]
    resource = sage["definitions"][tool.sage_resource]
    (wrapper,) = call.json

    landed = set()
    for body_path, value in body_leaves(call.json):
        sage_field = field_at(sage, body_definition, body_path)
        assert sage_field is not None, f"{tool.name}: {'.'.join(body_path)} is not in Sage's {tool.sage_body}"
        if str(value) not in leaves.where:
            continue  # a constant the tool sets itself (transaction_type_id, a default quantity)
        input_path, input_schema = leaves.where[str(value)]
        landed.add(tuple(input_path))
        assert compatible(input_schema, sage_field), (tool.name, input_path, sage_field)
        if "enum" in input_schema and "enum" in sage_field:
            assert set(input_schema["enum"]) <= set(sage_field["enum"])
        resource_field = field_at(sage, resource, body_path[1:]) or {}
        sage_max = sage_field.get("maxLength", resource_field.get("maxLength"))
        if sage_max is not None:
            assert input_schema.get("maxLength") == sage_max, (tool.name, input_path, sage_max)
    assert body_path[0] == wrapper
    every_input_leaf = {tuple(path) for path, _ in leaves.where.values()}
    assert landed == every_input_leaf, (
        f"{tool.name}: inputs that reach no Sage field: {every_input_leaf - landed}"
    )


@pytest.mark.parametrize("tool", WRITE_TOOLS, ids=lambda tool: tool.name)
def test_required_inputs_give_every_field_sage_requires(sage, tool: Tool):
    arguments = Leaves().value([], tool.input_schema, required_only=True)
    body = tool.sage_call(arguments).json
    definition = sage["definitions"][tool.sage_body]

    def check(value, schema, where):
        schema = resolve(sage, schema)
        if schema.get("type") == "array":
            assert value, f"{tool.name}: {where} is empty"
            for item in value:
                check(item, schema["items"], where + "[]")
            return
        if schema.get("type") != "object" and "properties" not in schema:
            return
        for name in schema.get("required", []):
            assert name in value, f"{tool.name}: Sage requires {where}.{name}"
        for name, item in value.items():
            if name in schema.get("properties", {}):
                check(item, schema["properties"][name], f"{where}.{name}")

    check(body, definition, tool.sage_body)


@pytest.mark.parametrize("tool", READ_TOOLS, ids=lambda tool: tool.name)
def test_read_queries_use_parameters_sage_documents(sage, tool: Tool):
    operation = sage["paths"][tool.sage_query_path]["get"]
    parameters = {parameter["name"]: parameter for parameter in operation.get("parameters", [])}
    leaves = Leaves()
    arguments = leaves.value([], tool.input_schema, required_only=False)
    call = tool.sage_call(arguments)
    assert call.method == "GET"

    template = tool.sage_query_path.replace("{key}", "M1")
    assert call.path == template, (call.path, template)
    for name, value in call.params:
        assert name in parameters, f"{tool.name}: Sage's GET {tool.sage_query_path} has no parameter {name!r}"
        if value in leaves.where:
            input_schema = leaves.where[value][1]
            assert compatible(input_schema, parameters[name]), (tool.name, name)
            if "enum" in input_schema and "enum" in parameters[name]:
                assert set(input_schema["enum"]) <= set(parameters[name]["enum"])
            if "maximum" in parameters[name]:
                assert input_schema["maximum"] <= parameters[name]["maximum"]
        if name == "attributes":
            resource = sage["definitions"][tool.sage_resource]["properties"]
            assert set(value.split(",")) <= set(resource), (tool.name, set(value.split(",")) - set(resource))
    inputs = {path[0] for path, _ in leaves.where.values()}
    sent = {name for name, _ in call.params} | ({"id"} if "{key}" in tool.sage_query_path else set())
    assert inputs <= sent, f"{tool.name}: inputs never sent: {inputs - sent}"


@pytest.mark.parametrize("tool", list(TOOLS.values()), ids=lambda tool: tool.name)
def test_fields_kept_for_the_model_are_sage_fields(sage, tool: Tool):
    def check(keep, schema, where):
        for item in keep:
            name, nested = (item, None) if isinstance(item, str) else item
            field = field_at(sage, schema, [name])
            assert field is not None, f"{tool.name}: Sage's {where} has no field {name!r}"
            if nested is not None:
                check(nested, field["items"] if field.get("type") == "array" else field, f"{where}.{name}")

    check(tool.keep, sage["definitions"][tool.sage_resource], tool.sage_resource)


def test_the_catalogue_covers_every_action_the_issue_names():
    assert set(TOOLS) >= ISSUE_TOOLS
    assert {name for name, tool in TOOLS.items() if tool.writes} == {
        "create_contact",
        "create_sales_invoice",
        "record_customer_receipt",
    }
    for tool in TOOLS.values():
        if tool.writes:
            assert tool.description.startswith("WRITES TO SAGE: ") and "never retried" in tool.description
        else:
            assert "Read-only." in tool.description
