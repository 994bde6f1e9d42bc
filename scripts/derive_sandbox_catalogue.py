"""Derive the sandbox's structural catalogue of Sage's API from Sage's own description (Swagger 2.0).

Sage's `swagger.full.json` lives outside the repository (`../shared/sage-openapi/`, present in CI and on
developer machines; Sage's text is not copied into the project). The sandbox's generic engine needs only the
structure: which paths and methods exist, each resource's definition, the wrapper key of its writes, and per field
its name, type, format, maxLength, minimum/maximum, whether it is required and which resource an `…_id` refers to.
This script writes exactly that, with no descriptions or examples, to `sandbox/generic/catalogue.json`, which is
committed so a fresh clone needs nothing else. `tests/sandbox/test_generic_catalogue.py` checks the committed file is
what this script derives.

    python scripts/derive_sandbox_catalogue.py            # write the catalogue
    python scripts/derive_sandbox_catalogue.py --check    # exit 1 when the committed catalogue differs
"""

import argparse
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
# ../shared beside the checkout (or beside the folder of a git worktree kept in a sub-folder, e.g. wt/<name>).
DEFAULT_SPEC = next(
    (
        folder / "shared" / "sage-openapi" / "swagger.full.json"
        for folder in (REPO.parent, REPO.parent.parent)
        if (folder / "shared" / "sage-openapi" / "swagger.full.json").exists()
    ),
    REPO.parent / "shared" / "sage-openapi" / "swagger.full.json",
)
CATALOGUE = REPO / "sandbox" / "generic" / "catalogue.json"
METHODS = ("get", "post", "put", "delete")
# Formats that change how a value is read; the numeric ones (double, int32) add nothing to `type`.
KEPT_FORMATS = {"date", "date-time"}
# Plurals the suffix rule below cannot guess.
IRREGULAR_COLLECTIONS = {"country_of_registration": "countries_of_registration"}


def ref_name(schema: dict) -> str | None:
    ref = schema.get("$ref")
    return ref.rsplit("/", 1)[-1] if ref else None


def plural_candidates(singular: str) -> list[str]:
    candidates = [singular + "s", singular + "es"]
    if singular.endswith("y"):
        candidates.append(singular[:-1] + "ies")
    return candidates


class Deriver:
    def __init__(self, spec: dict):
        self.spec = spec
        self.definitions = spec["definitions"]
        self.paths = spec["paths"]
        self.collections = sorted({path.split("/")[1] for path in self.paths})
        self.definition_collections = self._definition_collections()

    # --- resources -------------------------------------------------------------------------------

    def _operation(self, path: str, method: str) -> dict | None:
        return self.paths.get(path, {}).get(method)

    def _answer_definition(self, operation: dict | None) -> str | None:
        if operation is None:
            return None
        for status in ("200", "201"):
            schema = operation.get("responses", {}).get(status, {}).get("schema")
            if schema:
                return (
                    ref_name(schema.get("items", {})) if schema.get("type") == "array" else ref_name(schema)
                )
        return None

    def _resource_definition(self, name: str) -> str | None:
        return self._answer_definition(self._operation(f"/{name}/{{key}}", "get")) or self._answer_definition(
            self._operation(f"/{name}", "get")
        )

    def _definition_collections(self) -> dict[str, str]:
        """Definition → the one collection answering it (definitions shared by several, like Base, are left out)."""
        owners: dict[str, set[str]] = {}
        for name in self.collections:
            definition = self._resource_definition(name)
            if definition:
                owners.setdefault(definition, set()).add(name)
        return {definition: names.pop() for definition, names in owners.items() if len(names) == 1}

    def resource(self, name: str) -> dict:
        collection_path, member_path = f"/{name}", f"/{name}/{{key}}"
        listing = self._operation(collection_path, "get")
        list_schema = (listing or {}).get("responses", {}).get("200", {}).get("schema", {})
        definition = self._resource_definition(name)
        resource = {
            "definition": definition,
            "singleton": bool(listing) and list_schema.get("type") != "array",
            "list_parameters": sorted(
                parameter["name"]
                for parameter in (listing or {}).get("parameters", [])
                if parameter["in"] == "query"
            ),
        }
        writes = {
            "create": self._operation(collection_path, "post"),
            "update": self._operation(member_path, "put") or self._operation(collection_path, "put"),
        }
        for kind, operation in writes.items():
            body = next(
                (
                    parameter
                    for parameter in (operation or {}).get("parameters", [])
                    if parameter["in"] == "body"
                ),
                None,
            )
            if body is None:
                continue
            wrapper_schema = self.resolve(body["schema"])
            (wrapper, inner), *_ = wrapper_schema["properties"].items()
            resource["wrapper"] = wrapper
            resource[kind] = self.body_schema(inner, definition)
        deletion = self._operation(member_path, "delete")
        if deletion:
            resource["delete_status"] = int(next(iter(deletion["responses"])))
        actions = {}
        for path, operations in self.paths.items():
            parts = path.split("/")
            if len(parts) == 4 and parts[1] == name:
                actions[parts[3]] = sorted(method for method in operations if method in METHODS)
        if actions:
            resource["actions"] = actions
        return resource

    # --- schemas ---------------------------------------------------------------------------------

    def resolve(self, schema: dict) -> dict:
        while "$ref" in schema:
            schema = self.definitions[ref_name(schema)]
        return schema

    def field(self, schema: dict) -> dict:
        """A definition's property, structure only."""
        if "$ref" in schema:
            return {"definition": ref_name(schema)}
        field = {"type": schema.get("type", "object")}
        if schema.get("format") in KEPT_FORMATS:
            field["format"] = schema["format"]
        for keyword in ("maxLength", "minimum", "maximum"):
            if keyword in schema:
                field[keyword] = schema[keyword]
        if "items" in schema:
            field["items"] = self.field(schema["items"])
        if "properties" in schema:
            field["properties"] = {
                name: self.field(item) for name, item in sorted(schema["properties"].items())
            }
        return field

    def definition(self, name: str) -> dict:
        schema = self.definitions[name]
        return {field: self.field(item) for field, item in sorted(schema.get("properties", {}).items())}

    def _answer_property(self, definition: str | None, name: str) -> dict | None:
        if not definition:
            return None
        return self.resolve(self.definitions[definition]).get("properties", {}).get(name)

    def _nested_definition(self, definition: str | None, name: str) -> str | None:
        answer = self._answer_property(definition, name)
        if answer is None:
            return None
        return ref_name(answer) or ref_name(answer.get("items", {}))

    def reference_target(self, definition: str | None, answer: str | None, base: str) -> str | None:
        """The collection an `…_id` refers to: the answer's definition when one collection owns it, else the
        longest word suffix of the name that is a collection (`sales_ledger_account` → `ledger_accounts`)."""
        if answer:
            linked = self._nested_definition(definition, answer)
            if linked in self.definition_collections:
                return self.definition_collections[linked]
        if base in IRREGULAR_COLLECTIONS:
            return IRREGULAR_COLLECTIONS[base]
        words = base.split("_")
        for start in range(len(words)):
            singular = "_".join(words[start:])
            for candidate in plural_candidates(singular):
                if candidate in self.collections:
                    return candidate
        return None

    def body_schema(self, schema: dict, definition: str | None) -> dict:
        """A write body's object: fields with the answer field each fills, maxLengths from the answer's definition,
        reference targets, nested objects with their own answer definitions."""
        schema = self.resolve(schema)
        fields = {}
        for name, raw in sorted(schema.get("properties", {}).items()):
            raw = self.resolve(raw) if "$ref" in raw else raw
            field = {"type": raw.get("type", "object")}
            if raw.get("format") in KEPT_FORMATS:
                field["format"] = raw["format"]
            for keyword in ("minimum", "maximum"):
                if keyword in raw:
                    field[keyword] = raw[keyword]
            answer_name, base = name, None
            if name.endswith("_ids"):
                base = name[: -len("_ids")]
                answer_name = base + "s"
            elif name.endswith("_id"):
                base = name[: -len("_id")]
                answer_name = base
            answer = self._answer_property(definition, answer_name)
            if answer is None and answer_name != name:
                answer_name, answer = name, self._answer_property(definition, name)
            if answer is None:
                field["answer"] = None  # a body field the answer does not carry
            else:
                if answer_name != name:
                    field["answer"] = answer_name
                if "maxLength" in answer:
                    field["maxLength"] = answer["maxLength"]
            if base is not None:
                target = self.reference_target(definition, answer_name if answer else None, base)
                if target:
                    field["references"] = target
            nested = self._nested_definition(definition, name)
            if field["type"] == "object" and "properties" in raw:
                field["properties"] = self.body_schema(raw, nested)
            elif field["type"] == "array" and "items" in raw:
                items = self.resolve(raw["items"])
                if items.get("type", "object") == "object" and "properties" in items:
                    field["items"] = self.body_schema(items, nested)
                else:
                    field["items"] = {"type": items.get("type", "string")}
            fields[name] = field
        return {"fields": fields, "required": sorted(schema.get("required", []))}

    def catalogue(self) -> dict:
        resources = {name: self.resource(name) for name in self.collections}
        used = set()
        pending = [resource["definition"] for resource in resources.values() if resource["definition"]]
        while pending:
            name = pending.pop()
            if name in used:
                continue
            used.add(name)
            pending.extend(_linked_definitions(self.definition(name)))
        return {
            "about": (
                "Structure of Sage Accounting API v3.1 derived by scripts/derive_sandbox_catalogue.py from Sage's "
                "swagger.full.json (paths, methods, fields, types, required, maxLength, references; no prose). "
                "Do not edit by hand: run the script."
            ),
            "operations": sum(
                1 for operations in self.paths.values() for method in operations if method in METHODS
            ),
            "paths": {
                path: sorted(method for method in operations if method in METHODS)
                for path, operations in sorted(self.paths.items())
            },
            "resources": resources,
            "definitions": {name: self.definition(name) for name in sorted(used)},
        }


def _linked_definitions(fields: dict) -> list[str]:
    linked = []
    for field in fields.values():
        if "definition" in field:
            linked.append(field["definition"])
        for key in ("items", "properties"):
            nested = field.get(key)
            if isinstance(nested, dict):
                linked.extend(_linked_definitions(nested if key == "properties" else {"item": nested}))
    return linked


def derive(spec: dict) -> dict:
    return Deriver(spec).catalogue()


def render(catalogue: dict) -> str:
    return json.dumps(catalogue, indent=1, sort_keys=True) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--spec", type=Path, default=DEFAULT_SPEC, help="Sage's swagger.full.json")
    parser.add_argument("--check", action="store_true", help="only compare with the committed catalogue")
    args = parser.parse_args(argv)
    if not args.spec.exists():
        print(f"Sage's API description is not at {args.spec}", file=sys.stderr)
        return 2
    text = render(derive(json.loads(args.spec.read_text())))
    if args.check:
        if not CATALOGUE.exists() or CATALOGUE.read_text() != text:
            print(
                f"{CATALOGUE.relative_to(REPO)} differs from what {args.spec} gives; run this script",
                file=sys.stderr,
            )
            return 1
        return 0
    CATALOGUE.parent.mkdir(parents=True, exist_ok=True)
    CATALOGUE.write_text(text)
    print(f"wrote {CATALOGUE.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
