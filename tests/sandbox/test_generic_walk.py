"""A walk over every operation of Sage's API description (as the committed catalogue lists it): each answers
Sage-shaped on the sandbox, whether its resource is hand-written or served by the generic engine.

For each resource: the list answers the envelope and its items (all attributes) fit their definition; a create
with a minimal body built from the required fields answers 201 with a record that fits and reads back by key; an
update changes a field; an invalid body answers Sage's 422 naming the field; actions answer; a delete removes the
record where the description has one; no operation answers 5xx. The count covered is printed (goal: all).
"""

import re

import pytest

from sandbox.generic import catalogue
from sandbox.generic.samples import sample_body

DECIMAL_STRING = re.compile(r"^-?\d+(\.\d+)?$")
ENVELOPE_KEYS = {"$total", "$page", "$next", "$back", "$itemsPerPage", "$items"}
CHANGED = "Changed by the walk"
# Fields an update changes when the body has them (else the first plain string field).
PREFERRED = ("reference", "notes", "name")
# Bodies the hand-written resources need beyond the required fields' first-found ids.
CREATE_OVERRIDES = {
    "contact_payments": {"transaction_type_id": "CUSTOMER_RECEIPT", "total_amount": "10.00"},
}
# Deletes that need a query (Sage voids an issued invoice and needs a reason).
DELETE_QUERIES = {"sales_invoices": "?void_reason=Raised+in+error"}
# Deletes that keep the record readable with a status instead of removing it.
VOIDING_DELETES = {"sales_invoices"}


def fits(value, field: dict, where: str, problems: list[str]) -> None:
    """`value` fits a catalogue field (null fits anything, as Sage answers null for an empty field)."""
    if value is None:
        return
    if "definition" in field:
        fits_definition(value, field["definition"], where, problems)
        return
    kind = field["type"]
    if kind == "object":
        if not isinstance(value, dict):
            problems.append(f"{where}: expected an object, got {value!r}")
        elif "properties" in field:
            for name, item in value.items():
                if name not in field["properties"]:
                    problems.append(f"{where}.{name}: not in the definition")
                else:
                    fits(item, field["properties"][name], f"{where}.{name}", problems)
    elif kind == "array":
        if not isinstance(value, list):
            problems.append(f"{where}: expected an array, got {value!r}")
        else:
            for index, item in enumerate(value):
                fits(item, field.get("items", {"type": "object"}), f"{where}[{index}]", problems)
    elif kind == "string" and not isinstance(value, str):
        problems.append(f"{where}: expected a string, got {value!r}")
    elif kind == "number" and not (
        (isinstance(value, int | float) and not isinstance(value, bool))
        or (isinstance(value, str) and DECIMAL_STRING.match(value))
    ):
        problems.append(f"{where}: expected a number or decimal string, got {value!r}")
    elif kind == "integer" and (not isinstance(value, int) or isinstance(value, bool)):
        problems.append(f"{where}: expected an integer, got {value!r}")
    elif kind == "boolean" and not isinstance(value, bool):
        problems.append(f"{where}: expected a boolean, got {value!r}")


def fits_definition(value, definition: str, where: str, problems: list[str]) -> None:
    fits(value, {"type": "object", "properties": catalogue.definition(definition)}, where, problems)


def invalid_fields(schema: dict) -> dict:
    """One bad field: a malformed date, else an id of nothing, else a value of the wrong type."""
    fields = sorted(schema["fields"].items())
    for name, field in fields:
        if field.get("format") == "date":
            return {name: "31/12/2025"}
    for name, field in fields:
        if "references" in field:
            return {name: ["NO-SUCH-ID"] if field["type"] == "array" else "NO-SUCH-ID"}
    name, field = fields[0]
    return {name: 12345 if field["type"] in ("string", "array", "object") else "not-a-value"}


def record_key(record: dict) -> str:
    """The key of a record in its path (exchange rates have no `id`: their key is the currency)."""
    return record["$path"].rsplit("/", 1)[-1]


class Walk:
    def __init__(self, sage, business):
        self.sage = sage
        self.business = business
        self.covered: set[tuple[str, str]] = set()
        self.problems: list[str] = []

    def call(self, method: str, path: str, **kwargs):
        response = self.sage(method, path, **kwargs)
        if response.status_code >= 500:
            self.problems.append(f"{method.upper()} {path}: {response.status_code}")
        return response

    def expect(self, response, status: int, what: str) -> bool:
        if response.status_code != status:
            self.problems.append(
                f"{what}: expected {status}, got {response.status_code} {response.content[:300]!r}"
            )
            return False
        return True

    def check(self, record, definition: str, where: str) -> bool:
        problems: list[str] = []
        fits_definition(record, definition, where, problems)
        self.problems.extend(problems)
        return not problems

    def resource(self, name: str) -> None:
        spec = catalogue.resource(name)
        methods = catalogue.paths()
        collection, member = f"/{name}", f"/{name}/{{key}}"
        definition = spec["definition"]
        key = None

        if "get" in methods.get(collection, []):
            response = self.call("get", f"{collection}?attributes=all&items_per_page=200")
            if self.expect(response, 200, f"GET {collection}"):
                body = response.json()
                if spec["singleton"]:
                    ok = self.check(body, definition, collection)
                else:
                    ok = set(body) == ENVELOPE_KEYS or not self.problems.append(
                        f"GET {collection}: {set(body)}"
                    )
                    for item in body.get("$items", []):
                        ok = self.check(item, definition, f"{collection}[{item.get('id')}]") and ok
                    if body.get("$items"):
                        key = record_key(body["$items"][0])
                if ok:
                    self.covered.add(("get", collection))

        if "post" in methods.get(collection, []):
            key = self.create(name, spec) or key

        if key is not None and "get" in methods.get(member, []):
            response = self.call("get", f"{collection}/{key}")
            if self.expect(response, 200, f"GET {member}") and self.check(
                response.json(), definition, member
            ):
                self.covered.add(("get", member))

        if "put" in methods.get(collection, []) and spec["singleton"]:
            self.update(name, spec, collection, collection)
        if key is not None and "put" in methods.get(member, []):
            self.update(name, spec, f"{collection}/{key}", member)

        for action, action_methods in sorted(spec.get("actions", {}).items()):
            template = f"{member}/{action}"
            target = self.draft(name, spec) if action == "release" else key
            if target is None:
                continue
            for method in action_methods:
                response = self.call(method, f"{collection}/{target}/{action}")
                expected = 201 if method == "post" else 200
                if self.expect(response, expected, f"{method.upper()} {template}") and self.check(
                    response.json(), definition, template
                ):
                    self.covered.add((method, template))
                    if action == "release" and response.json().get("status", {}).get("id") != "UNPAID":
                        self.problems.append(f"POST {template}: the draft was not released")
                    if action == "reissue":
                        key = record_key(response.json())

        if key is not None and "delete" in methods.get(member, []):
            self.delete(name, spec, key)

    def draft(self, name: str, spec: dict) -> str | None:
        """A new draft to release."""
        body = sample_body(business=self.business, resource=name)
        body[spec["wrapper"]].update({**CREATE_OVERRIDES.get(name, {}), "status_id": "DRAFT"})
        response = self.call("post", f"/{name}", json=body)
        if not self.expect(response, 201, f"POST /{name} (draft)"):
            return None
        return record_key(response.json())

    def create(self, name: str, spec: dict) -> str | None:
        collection = f"/{name}"
        wrapper = spec["wrapper"]
        body = sample_body(business=self.business, resource=name)
        assert set(body[wrapper]) == set(spec["create"]["required"]), name
        body[wrapper].update(CREATE_OVERRIDES.get(name, {}))

        invalid = self.call("post", collection, json=self.invalid_create(spec))
        sources = {error.get("$source") for error in invalid.json()} if invalid.status_code == 422 else set()
        if not self.expect(invalid, 422, f"POST {collection} (invalid)") or not sources - {""}:
            return None

        response = self.call("post", collection, json=body)
        if not self.expect(response, 201, f"POST {collection}"):
            return None
        record = response.json()
        if not self.check(record, spec["definition"], f"POST {collection}"):
            return None
        key = record_key(record)
        again = self.call("get", f"{collection}/{key}")
        if self.expect(again, 200, f"GET {collection}/{{new}}") and again.json() == record:
            self.covered.add(("post", collection))
        return key

    @staticmethod
    def invalid_create(spec: dict) -> dict:
        """Missing every required field, or (when nothing is required) one bad field."""
        if spec["create"]["required"]:
            return {spec["wrapper"]: {}}
        return {spec["wrapper"]: invalid_fields(spec["create"])}

    def update(self, name: str, spec: dict, path: str, template: str) -> None:
        wrapper = spec["wrapper"]
        fields = spec["update"]["fields"]
        definition = catalogue.definition(spec["definition"])
        changeable = [
            (field_name, field)
            for field_name, field in sorted(
                fields.items(), key=lambda item: (item[0] not in PREFERRED, item[0])
            )
            if field["type"] == "string"
            and "references" not in field
            and "format" not in field
            and not field_name.endswith("_id")
            and field.get("answer", field_name) in definition
        ]
        invalid = self.call("put", path, json={wrapper: invalid_fields(spec["update"])})
        if not self.expect(invalid, 422, f"PUT {template} (invalid)"):
            return
        if changeable:
            field_name, field = changeable[0]
            value = CHANGED[: field.get("maxLength", len(CHANGED))]
            body = {wrapper: {field_name: value}}
        else:
            field_name, value, body = None, None, {wrapper: {}}
        response = self.call("put", path, json=body)
        if not self.expect(response, 200, f"PUT {template}"):
            return
        answer = response.json()
        if not self.check(answer, spec["definition"], f"PUT {template}"):
            return
        if field_name is not None:
            answered = answer.get(fields[field_name].get("answer", field_name))
            if answered != value:
                self.problems.append(f"PUT {template}: {field_name} answered {answered!r}, sent {value!r}")
                return
        self.covered.add(("put", template))

    def delete(self, name: str, spec: dict, key: str) -> None:
        template = f"/{name}/{{key}}"
        response = self.call("delete", f"/{name}/{key}{DELETE_QUERIES.get(name, '')}")
        if not self.expect(response, spec["delete_status"], f"DELETE {template}"):
            return
        after = self.call("get", f"/{name}/{key}")
        if name in VOIDING_DELETES:
            removed = after.status_code == 200 and after.json()["status"]["id"] == "VOID"
        else:
            removed = after.status_code == 404
        if not removed:
            self.problems.append(f"DELETE {template}: the record still reads back ({after.status_code})")
            return
        self.covered.add(("delete", template))


@pytest.mark.django_db
def test_every_operation_of_the_description_answers_sage_shaped(sage, business, books, make_customer, capsys):
    make_customer("Walk Customer Ltd")
    walk = Walk(sage, business)

    for name in catalogue.resource_names():
        walk.resource(name)

    operations = {(method, path) for path, methods in catalogue.paths().items() for method in methods}
    missing = sorted(operations - walk.covered)
    with capsys.disabled():
        print(f"\nsandbox walk: {len(walk.covered & operations)} of {len(operations)} operations covered")
    assert len(operations) == catalogue.catalogue()["operations"]
    assert not walk.problems, "\n".join(walk.problems)
    assert not missing, f"not covered: {missing}"
