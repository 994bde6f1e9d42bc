"""The sandbox's answers checked field by field against Sage's own API description (Swagger 2.0).

Sage publishes `swagger.full.json`; the project keeps it outside the repository in ../shared/sage-openapi/
(present in CI and on developer machines, absent in a user's fresh clone, where this module skips; under
REQUIRE_SERVICES=1 a missing description fails, see tests/sandbox/sage_description.py). Every field
the sandbox answers must exist in the definition with a compatible type, nested objects included; the required
fields of each create must match the description's `required` lists (missing one → 422 naming it).
"""

import json
import re
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command

from sandbox.identity_api import BUSINESS_FIELDS, USER_FIELDS
from sandbox.models import ContactPayment, SalesInvoice
from sandbox.resources.contact_payments import PAYMENT_LIMITS
from sandbox.resources.contacts import CONTACT_LIMITS
from sandbox.resources.sales_invoices import INVOICE_LIMITS
from sandbox.seed import DEMO_CONTACTS
from tests.sandbox.accounting_world import errors_by_source
from tests.sandbox.sage_description import FULL, USER_BUSINESSES, load_sage_description

DECIMAL_STRING = re.compile(r"^-?\d+(\.\d+)?$")
# docs/sandbox.md ("Amounts"): every `number` the sandbox answers is a decimal string with two places.
TWO_PLACES = re.compile(r"^-?\d+\.\d{2}$")

# Collection path → Sage definition of its items.
RESOURCES = {
    "/contacts": "Contact",
    "/sales_invoices": "SalesInvoice",
    "/contact_payments": "ContactPayment",
    "/ledger_accounts": "LedgerAccount",
    "/bank_accounts": "BankAccount",
    "/tax_rates": "TaxRate",
    "/payment_methods": "Base",
    "/transaction_types": "Base",
    "/contact_types": "Base",
    "/artefact_statuses": "Base",
}
# Query parameters the sandbox implements per list: each must be one Sage documents for that path.
FILTERS = {
    "/contacts": [
        "search",
        "email",
        "contact_type_id",
        "updated_or_created_since",
        "deleted_since",
        "attributes",
        "page",
        "items_per_page",
    ],
    "/sales_invoices": [
        "search",
        "contact_id",
        "status_id",
        "from_date",
        "to_date",
        "updated_or_created_since",
        "deleted_since",
        "show_payments_allocations",
        "attributes",
        "sort",
        "page",
        "items_per_page",
    ],
    "/contact_payments": [
        "contact_id",
        "bank_account_id",
        "transaction_type_id",
        "updated_or_created_since",
        "deleted_since",
        "from_date",
        "to_date",
        "attributes",
        "sort",
        "page",
        "items_per_page",
    ],
    "/ledger_accounts": [
        "visible_in",
        "ledger_account_type_id",
        "search",
        "updated_or_created_since",
        "attributes",
        "page",
        "items_per_page",
    ],
    "/bank_accounts": ["updated_or_created_since", "deleted_since", "attributes", "page", "items_per_page"],
}


@pytest.fixture(scope="module")
def spec() -> dict:
    return load_sage_description(FULL)


@pytest.fixture(scope="module")
def user_spec() -> dict:
    """Sage's separate description of /user and /businesses."""
    return load_sage_description(USER_BUSINESSES)


@pytest.fixture
def world(db, sage):
    """The demo world plus one paid-in-part invoice, a payment on account and a deleted draft."""
    call_command("sandbox_seed", "--if-empty", verbosity=0)
    contact = sage("get", f"/contacts?email={DEMO_CONTACTS['demo-trading'].email}").json()["$items"][0]
    invoice = SalesInvoice.objects.filter(contact_id=contact["id"], status="UNPAID").first()
    bank = sage("get", "/bank_accounts").json()["$items"][0]
    payment = {
        "transaction_type_id": "CUSTOMER_RECEIPT",
        "contact_id": contact["id"],
        "bank_account_id": bank["id"],
        "payment_method_id": "CASH",
        "date": "2025-06-02",
        "total_amount": str(invoice.outstanding_amount + Decimal("5")),
        "allocated_artefacts": [{"artefact_id": invoice.id, "amount": str(invoice.outstanding_amount - 1)}],
    }
    assert sage("post", "/contact_payments", json={"contact_payment": payment}).status_code == 201
    return {"contact": contact, "invoice": invoice, "bank": bank}


# --- type checking against the description -----------------------------------------------------------


def resolve(spec: dict, schema: dict) -> dict:
    while "$ref" in schema:
        schema = spec["definitions"][schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def check_value(spec: dict, value, schema: dict, where: str, problems: list[str]) -> None:
    schema = resolve(spec, schema)
    if value is None:  # Sage answers null for an empty field of any type
        return
    kind = schema.get("type", "object" if "properties" in schema else None)
    if kind == "object":
        if not isinstance(value, dict):
            problems.append(f"{where}: expected an object, got {value!r}")
            return
        properties = schema.get("properties", {})
        for key, item in value.items():
            if key not in properties:
                problems.append(f"{where}.{key}: not in Sage's definition")
            else:
                check_value(spec, item, properties[key], f"{where}.{key}", problems)
    elif kind == "array":
        if not isinstance(value, list):
            problems.append(f"{where}: expected an array, got {value!r}")
            return
        for index, item in enumerate(value):
            check_value(spec, item, schema.get("items", {}), f"{where}[{index}]", problems)
    elif kind == "string":
        if not isinstance(value, str):
            problems.append(f"{where}: expected a string, got {value!r}")
        elif len(value) > schema.get("maxLength", len(value)):
            problems.append(
                f"{where}: {len(value)} characters, over Sage's maxLength of {schema['maxLength']}"
            )
    elif kind == "number":
        # Sage's service writes decimals as strings; a JSON number is also a number.
        is_number = isinstance(value, int | float) and not isinstance(value, bool)
        if not (is_number or (isinstance(value, str) and DECIMAL_STRING.match(value))):
            problems.append(f"{where}: expected a number or decimal string, got {value!r}")
        elif isinstance(value, str) and not TWO_PLACES.match(value):
            problems.append(f"{where}: {value!r} is not written with two places, as docs/sandbox.md says")
    elif kind == "integer":
        if not isinstance(value, int) or isinstance(value, bool):
            problems.append(f"{where}: expected an integer, got {value!r}")
    elif kind == "boolean" and not isinstance(value, bool):
        problems.append(f"{where}: expected a boolean, got {value!r}")


def check_record(spec: dict, record: dict, definition: str, where: str) -> None:
    problems: list[str] = []
    check_value(spec, record, {"$ref": f"#/definitions/{definition}"}, where, problems)
    assert not problems, "\n".join(problems)


# --- answers -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("path", "definition"), RESOURCES.items())
def test_list_items_with_all_attributes_match_the_definition(spec, sage, world, path, definition):
    items = sage("get", f"{path}?attributes=all&items_per_page=200").json()["$items"]

    assert items, f"{path} answered no items to check"
    for item in items:
        check_record(spec, item, definition, f"{path}[{item['id']}]")


@pytest.mark.parametrize(("path", "definition"), RESOURCES.items())
def test_single_records_match_the_definition(spec, sage, world, path, definition):
    first = sage("get", f"{path}?items_per_page=1").json()["$items"][0]

    response = sage("get", first["$path"])

    assert response.status_code == 200
    check_record(spec, response.json(), definition, first["$path"])
    assert set(first) == {"id", "displayed_as", "$path"}


@pytest.mark.parametrize(("path", "definition"), RESOURCES.items())
def test_each_resource_is_checked_against_the_definition_sage_declares_for_it(spec, path, definition):
    list_schema = spec["paths"][path]["get"]["responses"]["200"]["schema"]
    detail_schema = spec["paths"][f"{path}/{{key}}"]["get"]["responses"]["200"]["schema"]

    assert list_schema["items"]["$ref"] == f"#/definitions/{definition}"
    assert detail_schema["$ref"] == f"#/definitions/{definition}"


def without_paths(value):
    """`$path` taken out everywhere: Sage's description of /businesses omits it, but every v3.1 collection item
    carries it (the paging guide's items are `id`, `displayed_as`, `$path`), so the sandbox answers it there too.
    /user is no collection and answers exactly Sage's `User`."""
    if isinstance(value, dict):
        return {key: without_paths(item) for key, item in value.items() if key != "$path"}
    if isinstance(value, list):
        return [without_paths(item) for item in value]
    return value


@pytest.mark.parametrize(
    ("path", "definition"),
    [("/user", "User"), ("/businesses/lead", "Business"), ("/businesses/{lead}", "Business")],
)
def test_user_and_business_answers_match_sages_definitions(user_spec, sage, world, path, definition):
    lead_id = sage("get", "/businesses/lead").json()["id"]

    response = sage("get", path.replace("{lead}", lead_id))

    assert response.status_code == 200
    body = response.json() if definition == "User" else without_paths(response.json())
    check_record(user_spec, body, definition, path)
    assert response["X-Business"] == lead_id


def test_business_list_items_with_all_attributes_match_sages_definition(user_spec, sage, world):
    body = sage("get", "/businesses?attributes=all").json()

    assert len(body["$items"]) == 2
    for item in body["$items"]:
        check_record(user_spec, without_paths(item), "Business", f"/businesses[{item['id']}]")


def test_user_and_business_updates_take_exactly_sages_put_fields(user_spec):
    definitions = user_spec["definitions"]

    assert set(USER_FIELDS) == set(definitions["putUser"]["properties"]["user"]["properties"])
    assert set(BUSINESS_FIELDS) == set(definitions["putBusinesses"]["properties"]["business"]["properties"])


def test_answers_to_writes_match_the_definition(spec, sage, world):
    """What a create, update, release or void answers is the resource itself, field for field."""
    bodies = valid_bodies(world)
    answers = {}
    for path, (wrapper, _, body) in bodies.items():
        created = sage("post", path, json={wrapper: body})
        assert created.status_code == 201, (path, created.content)
        answers[f"POST {path}"] = (created.json(), RESOURCES[path])
    contact = answers["POST /contacts"][0]
    updated_contact = sage("put", contact["$path"], json={"contact": {"notes": "Changed"}})
    answers["PUT /contacts/{key}"] = (updated_contact.json(), "Contact")
    invoice = answers["POST /sales_invoices"][0]
    updated_invoice = sage("put", invoice["$path"], json={"sales_invoice": {"reference": "PO-9"}})
    answers["PUT /sales_invoices/{key}"] = (updated_invoice.json(), "SalesInvoice")
    voided = sage("delete", f"{invoice['$path']}?void_reason=Wrong+customer")
    answers["DELETE /sales_invoices/{key}"] = (voided.json(), "SalesInvoice")
    draft_body = {**bodies["/sales_invoices"][2], "status_id": "DRAFT"}
    draft = sage("post", "/sales_invoices", json={"sales_invoice": draft_body}).json()
    released = sage("post", f"{draft['$path']}/release")
    answers["POST /sales_invoices/{key}/release"] = (released.json(), "SalesInvoice")

    assert updated_contact.status_code == updated_invoice.status_code == voided.status_code == 200
    assert released.status_code == 201  # as Sage's description of /release declares
    for where, (answer, definition) in answers.items():
        check_record(spec, answer, definition, where)


def test_invoice_with_payments_allocations_matches_the_definition(spec, sage, world):
    body = sage("get", f"/sales_invoices/{world['invoice'].id}?show_payments_allocations=true").json()

    assert body["payments_allocations"]
    assert body["status"]["id"] == "PART_PAID"
    check_record(spec, body, "SalesInvoice", "sales_invoice")


def test_payment_with_payment_on_account_matches_the_definition(spec, sage, world):
    payment = ContactPayment.objects.filter(unallocated_amount__gt=0).first()

    body = sage("get", f"/contact_payments/{payment.id}").json()

    assert body["payment_on_account"] is not None
    check_record(spec, body, "ContactPayment", "contact_payment")


def test_deleted_records_match_the_definition(spec, sage, world):
    created = sage(
        "post", "/contacts", json={"contact": {"name": "Gone", "contact_type_ids": ["CUSTOMER"]}}
    ).json()
    sage("delete", created["$path"])

    items = sage("get", "/contacts?deleted_since=2000-01-01T00:00:00Z&attributes=all").json()["$items"]

    assert [item["id"] for item in items] == [created["id"]]
    check_record(spec, items[0], "Contact", "deleted contact")
    assert "deleted_at" in items[0]


@pytest.mark.parametrize(("path", "parameters"), FILTERS.items())
def test_list_parameters_are_ones_sage_documents(spec, path, parameters):
    documented = {parameter["name"] for parameter in spec["paths"][path]["get"]["parameters"]}

    assert set(parameters) - documented == set()


# --- creates: required fields --------------------------------------------------------------------------


def valid_bodies(world) -> dict[str, tuple[str, str, dict]]:
    """path → (wrapper, Sage definition of the body, a valid body) for each create the sandbox serves."""
    ledger = world["invoice"].lines.first().ledger_account
    invoice = world["invoice"]  # PART_PAID, 1.00 outstanding
    return {
        "/contacts": ("contact", "postContacts", {"name": "Required Ltd", "contact_type_ids": ["CUSTOMER"]}),
        "/sales_invoices": (
            "sales_invoice",
            "postSalesInvoices",
            {
                "contact_id": world["contact"]["id"],
                "date": "2025-06-01",
                "invoice_lines": [
                    {"description": "Thing", "ledger_account_id": ledger.id, "unit_price": "25.99"}
                ],
            },
        ),
        "/contact_payments": (
            "contact_payment",
            "postContactPayments",
            {
                "transaction_type_id": "CUSTOMER_RECEIPT",
                "contact_id": world["contact"]["id"],
                "bank_account_id": world["bank"]["id"],
                "date": "2025-06-02",
                "total_amount": "1.00",
                "allocated_artefacts": [{"artefact_id": invoice.id, "amount": "1.00"}],
            },
        ),
    }


def required_fields(spec: dict, definition: str, wrapper: str) -> tuple[list[str], dict]:
    body_schema = spec["definitions"][definition]["properties"][wrapper]
    return body_schema.get("required", []), body_schema["properties"]


def test_valid_creates_use_only_sage_field_names_and_succeed(spec, sage, world):
    for path, (wrapper, definition, body) in valid_bodies(world).items():
        _, properties = required_fields(spec, definition, wrapper)
        assert set(body) <= set(properties), path

        response = sage("post", path, json={wrapper: body})

        assert response.status_code == 201, (path, response.content)


@pytest.mark.parametrize(
    ("path", "expected_required"),
    [
        ("/contacts", {"name", "contact_type_ids"}),
        ("/sales_invoices", {"contact_id", "date", "invoice_lines"}),
        (
            "/contact_payments",
            {"transaction_type_id", "contact_id", "bank_account_id", "date", "total_amount"},
        ),
    ],
)
def test_each_required_field_of_a_create_is_enforced_with_422_naming_it(
    spec, sage, world, path, expected_required
):
    wrapper, definition, body = valid_bodies(world)[path]
    required, _ = required_fields(spec, definition, wrapper)
    assert set(required) == expected_required  # the description still says what the sandbox was built from

    for field in required:
        without = {key: value for key, value in body.items() if key != field}
        response = sage("post", path, json={wrapper: without})
        assert field in errors_by_source(response), (path, field)


def test_each_required_field_of_an_invoice_line_is_enforced(spec, sage, world):
    wrapper, definition, body = valid_bodies(world)["/sales_invoices"]
    _, properties = required_fields(spec, definition, wrapper)
    line_required = properties["invoice_lines"]["items"]["required"]
    assert set(line_required) == {"description", "ledger_account_id", "unit_price"}

    for field in line_required:
        line = {key: value for key, value in body["invoice_lines"][0].items() if key != field}
        response = sage("post", "/sales_invoices", json={wrapper: {**body, "invoice_lines": [line]}})
        assert f"invoice_lines[0].{field}" in errors_by_source(response), field


def test_create_bodies_must_be_wrapped_as_the_description_requires(spec, sage, world):
    for path, (wrapper, definition, body) in valid_bodies(world).items():
        assert spec["definitions"][definition]["required"] == [wrapper]

        response = sage("post", path, json=body)

        assert wrapper in errors_by_source(response), path


def test_the_checker_catches_unknown_fields_and_wrong_types(spec):
    problems: list[str] = []
    bad_invoice = {
        "id": "x",
        "colour": "blue",
        "total_amount": "twelve",
        "sent": "yes",
        "contact": {"id": "c", "mood": "happy", "reference": "ELEVENCHARS"},
        "invoice_lines": [{"quantity": True}],
        "exchange_rate": "1.0",
    }

    check_value(spec, bad_invoice, {"$ref": "#/definitions/SalesInvoice"}, "invoice", problems)

    assert sorted(problems) == sorted(
        [
            "invoice.colour: not in Sage's definition",
            "invoice.total_amount: expected a number or decimal string, got 'twelve'",
            "invoice.sent: expected a boolean, got 'yes'",
            "invoice.contact.mood: not in Sage's definition",
            "invoice.contact.reference: 11 characters, over Sage's maxLength of 10",
            "invoice.exchange_rate: '1.0' is not written with two places, as docs/sandbox.md says",
            "invoice.invoice_lines[0].quantity: expected a number or decimal string, got True",
        ]
    )


# --- maxLengths: the sandbox's tables, input and generated values -------------------------------------------


def body_limits(spec: dict, body_schema: dict, resource_schema: dict) -> dict:
    """Sage's limits for a create/update body: each string field bound by the maxLength of the same field of the
    resource (the bodies themselves declare none), nested objects and lists of objects included."""
    body_schema, resource_schema = resolve(spec, body_schema), resolve(spec, resource_schema)
    if "items" in body_schema:
        return body_limits(spec, body_schema["items"], resource_schema.get("items", {}))
    limits = {}
    resource_fields = resource_schema.get("properties", {})
    for field, schema in body_schema.get("properties", {}).items():
        if field not in resource_fields:
            continue
        schema, resource_field = resolve(spec, schema), resolve(spec, resource_fields[field])
        if "maxLength" in resource_field and schema.get("type", "string") == "string":
            limits[field] = resource_field["maxLength"]
        elif "properties" in schema or "items" in schema:
            nested = body_limits(spec, schema, resource_field)
            if nested:
                limits[field] = nested
    return limits


def flattened(limits: dict, prefix: str = "") -> dict[str, int]:
    flat = {}
    for field, limit in limits.items():
        if isinstance(limit, dict):
            flat.update(flattened(limit, f"{prefix}{field}."))
        else:
            flat[f"{prefix}{field}"] = limit
    return flat


# path → (the sandbox's table, bodies of the description, resource definition, wrapper, fields the sandbox also
# reads though Sage's body has none: checked against the resource definition instead)
LIMIT_TABLES = {
    "/contacts": (CONTACT_LIMITS, ("postContacts", "putContacts"), "Contact", "contact", {"email"}),
    "/sales_invoices": (
        INVOICE_LIMITS,
        ("postSalesInvoices", "putSalesInvoices"),
        "SalesInvoice",
        "sales_invoice",
        set(),
    ),
    "/contact_payments": (
        PAYMENT_LIMITS,
        ("postContactPayments", "putContactPayments"),
        "ContactPayment",
        "contact_payment",
        set(),
    ),
}


@pytest.mark.parametrize("path", LIMIT_TABLES)
def test_the_sandboxs_limit_tables_are_exactly_sages(spec, path):
    table, bodies, resource, wrapper, extras = LIMIT_TABLES[path]
    resource_fields = spec["definitions"][resource]["properties"]

    for body in bodies:
        expected = body_limits(
            spec, spec["definitions"][body]["properties"][wrapper], spec["definitions"][resource]
        )
        assert {field: limit for field, limit in table.items() if field not in extras} == expected, body
    for field in extras:
        assert table[field] == resolve(spec, resource_fields[field])["maxLength"], field


def body_with(body: dict, dotted: str, value: str) -> dict:
    """`body` with the field at `main_address.postal_code` set to `value` (nested objects created as needed)."""
    changed = json.loads(json.dumps(body))
    target = changed
    *parents, field = dotted.split(".")
    for parent in parents:
        target = target.setdefault(parent, {})
    target[field] = value
    return changed


@pytest.mark.parametrize("path", LIMIT_TABLES)
def test_every_limit_of_a_create_is_enforced_with_422_naming_the_field(spec, sage, world, path):
    wrapper, _, body = valid_bodies(world)[path]
    table = LIMIT_TABLES[path][0]

    for dotted, limit in flattened(table).items():
        over = sage("post", path, json={wrapper: body_with(body, dotted, "x" * (limit + 1))})
        at_limit = sage("post", path, json={wrapper: body_with(body, dotted, "y" * limit)})

        errors = errors_by_source(over)
        assert f"maximum is {limit} characters" in errors[dotted]["$message"], (path, dotted)
        assert not any(
            "too long" in error["$message"] for error in at_limit.json() if at_limit.status_code == 422
        )


def test_generated_contact_references_fit_sages_limit(spec, sage, world):
    name = "Acme Widgets International Holdings"
    answers = [
        sage("post", "/contacts", json={"contact": {"name": name, "contact_type_ids": ["CUSTOMER"]}}).json()
        for _ in range(12)
    ]

    for answer in answers:
        check_record(spec, answer, "Contact", f"contact {answer['reference']}")
    assert len({answer["reference"] for answer in answers}) == 12


# --- docs/sandbox.md says what the description says -----------------------------------------------------------


def documented_fields(section_heading: str, definition: str) -> set[str]:
    docs = (Path(settings.BASE_DIR) / "docs" / "sandbox.md").read_text()
    section = docs.split(section_heading, 1)[1]
    sentence = section.split(f"Fields of Sage's `definitions.{definition}`:", 1)[1].split(".", 1)[0]
    return set(re.findall(r"`([$\w]+)`", sentence))


def test_the_docs_list_exactly_the_user_fields_sage_describes(user_spec):
    assert documented_fields("### `GET /user`", "User") == set(user_spec["definitions"]["User"]["properties"])


def test_the_docs_list_the_business_fields_sage_describes_and_say_where_they_add_path(user_spec):
    documented = documented_fields("### `GET /businesses/lead`", "Business")

    assert documented == set(user_spec["definitions"]["Business"]["properties"]) | {"$path"}
