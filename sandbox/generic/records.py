"""Create, update, delete and answer the records of generic resources, Sage-shaped.

A record's answer has every field of its definition (null when unset): `id`, `displayed_as`, `$path`,
`created_at`, `updated_at` (and `deleted_at` once deleted); a body's `…_id` becomes the nested link Sage answers
(`sales_ledger_account_id` → `sales_ledger_account: {"id", "displayed_as", "$path"}`); amounts are answered as
decimal strings with at least two places (as the hand-written resources do); entries of arrays of objects get ids.
Artefacts with lines (invoices, credit notes, quotes, …) get their line and document totals and a number.
"""

import datetime as dt
import uuid
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from sandbox.amounts import ZERO, round_money, to_decimal
from sandbox.api import sage_datetime
from sandbox.models import Business, GenericRecord, TaxRate

from . import catalogue
from .references import find_link

BASE_FIELDS = ("id", "displayed_as", "$path", "created_at", "updated_at", "deleted_at")
# Body fields a record is named after, in order of preference.
NAME_FIELDS = (
    "name",
    "vendor_reference",
    "reference",
    "item_code",
    "description",
    "code",
    "file_name",
    "title",
    "service_name",
)
NUMBER_FIELDS = ("invoice_number", "credit_note_number", "quote_number", "estimate_number")
OPEN_STATUS = {"id": "UNPAID", "displayed_as": "Unpaid", "$path": "/artefact_statuses/UNPAID"}


def now() -> dt.datetime:
    return timezone.now().replace(microsecond=0)


def blank_data(resource: str) -> dict:
    """Every field of the resource's definition, null, except the base fields the record's columns answer."""
    return {name: None for name in catalogue.definition_fields(resource) if name not in BASE_FIELDS}


def format_number(value: Decimal) -> str:
    """Decimal string with at least two places: 25.99, 10.00, 1.168400 (exchange rates keep their places)."""
    if value.as_tuple().exponent >= -2:
        return f"{value:.2f}"
    return format(value, "f")


def _humanize(code: str) -> str:
    return code.replace("_", " ").title()


# --- rendering a body into the answer's fields --------------------------------------------------------------


def render_fields(
    *, business: Business, schema: dict, body: dict, definition: dict, id_source: str | None = None
) -> dict:
    """The answer's fields for the given body fields (the body is already validated).

    Entries of arrays get ids: derived from `id_source` (a new record's own path, so a seed is repeatable), or
    random (an update's new lines)."""
    rendered = {}
    for name, value in body.items():
        field = schema["fields"].get(name)
        if field is None or ("answer" in field and field["answer"] is None):
            continue
        answer = field.get("answer", name)
        if answer not in definition:
            continue
        source = f"{id_source}/{name}" if id_source else None
        rendered[answer] = _render_value(business, name, field, value, definition[answer], source)
    return rendered


def _link(business: Business, field: dict, value: str) -> dict:
    collection = field.get("references")
    if collection:
        link = find_link(business=business, collection=collection, key=value)
        if link:
            return link
        return {"id": value, "displayed_as": value, "$path": f"/{collection}/{value}"}
    return {"id": value, "displayed_as": _humanize(value)}


def _render_value(business: Business, name: str, field: dict, value, answer: dict, id_source: str | None):
    if value is None:
        return None
    links = (
        "definition" in answer or answer.get("type") == "object" or "definition" in answer.get("items", {})
    )
    if field["type"] == "array":
        items = field.get("items", {})
        if "fields" in items:
            item_definition = (
                catalogue.definition(answer["items"]["definition"])
                if "definition" in answer.get("items", {})
                else {}
            )
            return [
                _render_entry(
                    business, items, entry, item_definition, f"{id_source}/{index}" if id_source else None
                )
                for index, entry in enumerate(value)
            ]
        if name.endswith("_ids") and links:
            return [_link(business, field, item) for item in value]
        return value
    if field["type"] == "object" and "properties" in field:
        nested = catalogue.definition(answer["definition"]) if "definition" in answer else {}
        return render_fields(
            business=business, schema=field["properties"], body=value, definition=nested, id_source=id_source
        )
    if name.endswith("_id") and links and isinstance(value, str):
        return _link(business, field, value)
    if field["type"] == "number":
        return format_number(to_decimal(value))
    return value


def _render_entry(
    business: Business, schema: dict, entry: dict, definition: dict, id_source: str | None
) -> dict:
    rendered = {
        name: None for name in definition if name not in ("$path", "created_at", "updated_at", "deleted_at")
    }
    rendered.update(
        render_fields(
            business=business, schema=schema, body=entry, definition=definition, id_source=id_source
        )
    )
    if "id" in definition:
        rendered["id"] = uuid.uuid5(uuid.NAMESPACE_URL, id_source).hex if id_source else uuid.uuid4().hex
    if "displayed_as" in definition:
        rendered["displayed_as"] = str(entry.get("description") or entry.get("details") or rendered.get("id"))
    return rendered


# --- what the sandbox computes -------------------------------------------------------------------------------


def _tax_percentage(business: Business, line: dict) -> Decimal:
    rate = line.get("tax_rate")
    if not isinstance(rate, dict):
        return ZERO
    found = TaxRate.objects.filter(business=business, key=rate.get("id")).values_list("percentage", flat=True)
    return found.first() or ZERO


def apply_line_totals(business: Business, data: dict) -> None:
    """Lines with quantity and unit price get net/tax/total; the document gets their sums (Sage's artefacts)."""
    lines_field = next(
        (name for name, value in data.items() if name.endswith("_lines") and isinstance(value, list)), None
    )
    if lines_field is None:
        return
    net_sum = tax_sum = ZERO
    for line in data[lines_field]:
        if line.get("unit_price") is None:
            return
        quantity = to_decimal(line.get("quantity") or "1")
        net = round_money(
            quantity * to_decimal(line["unit_price"]) - to_decimal(line.get("discount_amount") or 0)
        )
        if line.get("tax_amount") is not None:
            tax = round_money(to_decimal(line["tax_amount"]))
        else:
            tax = round_money(net * _tax_percentage(business, line) / 100)
        for key, value in (("net_amount", net), ("tax_amount", tax), ("total_amount", net + tax)):
            if key in line:
                line[key] = format_number(value)
        net_sum, tax_sum = net_sum + net, tax_sum + tax
    if "total_quantity" in data:
        data["total_quantity"] = format_number(
            sum((to_decimal(line.get("quantity") or "1") for line in data[lines_field]), ZERO)
        )
    for key, value in (
        ("net_amount", net_sum),
        ("tax_amount", tax_sum),
        ("total_amount", net_sum + tax_sum),
        ("outstanding_amount", net_sum + tax_sum),
    ):
        if key in data:
            data[key] = format_number(round_money(value))


def _prefix(resource: str) -> str:
    return "".join(word[0] for word in resource.split("_")).upper() + "-"


def _displayed_as(resource: str, body: dict, data: dict, number: int) -> str:
    for field in NUMBER_FIELDS:
        if data.get(field):
            return str(data[field])
    for field in NAME_FIELDS:
        if isinstance(body.get(field), str) and body[field].strip():
            return body[field].strip()[:255]
    return f"{resource.rstrip('s').replace('_', ' ').capitalize()} {number}"


# --- services ----------------------------------------------------------------------------------------------


def record_key(*, resource: str, body: dict) -> str:
    """A new record's key: Sage keys records without an `id` (exchange rates) by their currency."""
    if "id" not in catalogue.definition_fields(resource) and isinstance(body.get("currency_id"), str):
        return body["currency_id"]
    return uuid.uuid4().hex


def build_record(
    *, business: Business, resource: str, body: dict, key: str, moment: dt.datetime, number: int
) -> GenericRecord:
    """An unsaved record from a validated create body; `number` is its place among the resource's records."""
    spec = catalogue.resource(resource)
    definition = catalogue.definition(spec["definition"])
    data = blank_data(resource)
    data.update(
        render_fields(
            business=business,
            schema=spec["create"],
            body=body,
            definition=definition,
            id_source=f"{business.id}/{resource}/{key}",
        )
    )
    if "editable" in data:
        data["editable"] = "update" in spec
    if "deletable" in data:
        data["deletable"] = "delete_status" in spec
    if "status" in data and data["status"] is None and "outstanding_amount" in data:
        data["status"] = dict(OPEN_STATUS)
    for field in NUMBER_FIELDS:
        if field in data and not data[field]:
            data[field] = f"{_prefix(resource)}{number}"
    apply_line_totals(business, data)
    return GenericRecord(
        business=business,
        resource=resource,
        key=key,
        displayed_as=_displayed_as(resource, body, data, number),
        data=data,
        created_at=moment,
        updated_at=moment,
    )


def create_record(*, business: Business, resource: str, body: dict) -> GenericRecord:
    """A new record from a validated create body (the object inside the wrapper)."""
    key = record_key(resource=resource, body=body)
    with transaction.atomic():
        records = GenericRecord.objects.filter(business=business, resource=resource)
        # A key used again after a delete (an exchange rate's currency): the tombstone gives way.
        records.filter(key=key).delete()
        record = build_record(
            business=business, resource=resource, body=body, key=key, moment=now(), number=records.count() + 1
        )
        record.save(force_insert=True)
        return record


def update_record(*, record: GenericRecord, body: dict) -> GenericRecord:
    """Merge a validated update body into the record (arrays and nested objects given are replaced)."""
    spec = catalogue.resource(record.resource)
    definition = catalogue.definition(spec["definition"])
    changes = render_fields(business=record.business, schema=spec["update"], body=body, definition=definition)
    record.data = {**record.data, **changes}
    apply_line_totals(record.business, record.data)
    names = [field for field in NAME_FIELDS if isinstance(body.get(field), str) and body[field].strip()]
    if names and not any(record.data.get(field) for field in NUMBER_FIELDS):
        record.displayed_as = body[names[0]].strip()[:255]
    record.updated_at = now()
    record.save(update_fields=["data", "displayed_as", "updated_at"])
    return record


def delete_record(*, record: GenericRecord) -> None:
    """Sage lists deletions by `deleted_since`, so the record stays as a tombstone."""
    record.deleted_at = record.updated_at = now()
    record.save(update_fields=["deleted_at", "updated_at"])


def release_record(*, record: GenericRecord) -> GenericRecord:
    """`POST …/{key}/release`: a draft artefact becomes open (UNPAID)."""
    status = record.data.get("status")
    if isinstance(status, dict) and status.get("id") == "DRAFT":
        record.data = {**record.data, "status": dict(OPEN_STATUS)}
    record.updated_at = now()
    record.save(update_fields=["data", "updated_at"])
    return record


def reissue_record(*, record: GenericRecord) -> GenericRecord:
    """`POST /journals/{key}/reissue`: Sage voids the journal and creates a new one with the same content."""
    with transaction.atomic():
        delete_record(record=record)
        return GenericRecord.objects.create(
            business=record.business,
            resource=record.resource,
            key=uuid.uuid4().hex,
            displayed_as=record.displayed_as,
            data=record.data,
            created_at=record.deleted_at,
            updated_at=record.deleted_at,
        )


def singleton(*, business: Business, resource: str) -> GenericRecord:
    """The one record of a settings-like resource (`/business_settings`), made blank the first time."""
    record, _ = GenericRecord.objects.get_or_create(
        business=business,
        resource=resource,
        key=business.id,
        defaults={"data": blank_data(resource), "displayed_as": _humanize(resource)},
    )
    return record


def answer(record: GenericRecord) -> dict:
    """The record as Sage answers it: exactly the fields of its definition."""
    definition = catalogue.definition_fields(record.resource)
    spec = catalogue.resource(record.resource)
    full = {
        "id": record.key,
        "displayed_as": record.displayed_as,
        "$path": f"/{record.resource}" if spec["singleton"] else record.api_path,
        "created_at": sage_datetime(record.created_at),
        "updated_at": sage_datetime(record.updated_at),
        **record.data,
    }
    if record.deleted_at is not None:
        full["deleted_at"] = sage_datetime(record.deleted_at)
    return {name: value for name, value in full.items() if name in definition}
