"""Minimal valid bodies built from the catalogue's required fields: what the demo seed posts to each writable
resource (and what the walk over every operation posts). Ids point at records the business already has; a
required record of another generic resource that has none yet is created first."""

import uuid

from sandbox.models import Business, GenericRecord

from . import catalogue
from .references import first_key, remember_record, remembered

SAMPLE_DATE = "2025-01-15"
SAMPLE_DATETIME = "2025-01-15T09:00:00Z"
MAX_DEPTH = 4


class NoSampleReference(Exception):
    """A required id names a resource with no record for this business (e.g. no ledger accounts seeded)."""


def sample_body(*, business: Business, resource: str, number: int = 1, depth: int = 0) -> dict:
    """`{wrapper: {required fields}}` for a create of `resource`."""
    spec = catalogue.resource(resource)
    label = f"{resource.rstrip('s').replace('_', ' ').capitalize()} {number}"
    inner = _sample_object(business, spec["create"], label, number, depth)
    return {spec["wrapper"]: inner}


def _sample_object(business: Business, schema: dict, label: str, number: int, depth: int) -> dict:
    return {
        name: _sample_value(
            business, name, schema["fields"].get(name, {"type": "string"}), label, number, depth
        )
        for name in schema["required"]
    }


def _reference(business: Business, collection: str, depth: int) -> str:
    key = first_key(business=business, collection=collection)
    if (
        key is None
        and catalogue.is_generic(collection)
        and catalogue.is_writable(collection)
        and depth < MAX_DEPTH
    ):
        from .records import create_record

        spec = catalogue.resource(collection)
        body = sample_body(business=business, resource=collection, depth=depth + 1)[spec["wrapper"]]
        key = create_record(business=business, resource=collection, body=body).key
    if key is None:
        raise NoSampleReference(collection)
    return key


def _sample_value(business: Business, name: str, field: dict, label: str, number: int, depth: int):
    if "references" in field:
        key = _reference(business, field["references"], depth)
        return [key] if field["type"] == "array" else key
    if name == "status_id":
        return "DRAFT"
    if name.endswith("_id"):  # an id the description does not tie to one resource (artefact_id, …)
        return uuid.uuid4().hex
    kind = field["type"]
    if kind == "array":
        items = field.get("items", {})
        if "fields" in items:
            return [_sample_object(business, items, label, number, depth)]
        return [_sample_value(business, name, items, label, number, depth)]
    if kind == "object":
        return (
            _sample_object(business, field["properties"], label, number, depth)
            if "properties" in field
            else {}
        )
    if kind == "number":
        return "1.00" if name == "quantity" else f"{10 * number}.00"
    if kind == "integer":
        return max(field.get("minimum", 1), min(field.get("maximum", number), number))
    if kind == "boolean":
        return True
    if field.get("format") == "date":
        return SAMPLE_DATE
    if field.get("format") == "date-time":
        return SAMPLE_DATETIME
    text = f"{label} {name.replace('_', ' ')}"
    return text[: field["maxLength"]] if "maxLength" in field else text


def seed_generic_resources(*, business: Business, per_resource: int, epoch) -> int:
    """The business's reference lists, and `per_resource` records in each writable generic resource (ids and
    timestamps derived from the business, so a reseed answers the same). Returns the records added."""
    from .reference_lists import seed_reference_lists

    seed_reference_lists(business=business)
    with remembered():
        return _seed_writable(business, per_resource, epoch)


def _seed_writable(business: Business, per_resource: int, epoch) -> int:
    import datetime as dt

    from .records import build_record

    have = set(GenericRecord.objects.filter(business=business).values_list("resource", "key"))
    batch = []
    for offset, resource in enumerate(catalogue.resource_names()):
        if not (catalogue.is_generic(resource) and catalogue.is_writable(resource)):
            continue
        spec = catalogue.resource(resource)
        for number in range(1, per_resource + 1):
            try:
                body = sample_body(business=business, resource=resource, number=number)[spec["wrapper"]]
            except NoSampleReference:
                break
            key = uuid.uuid5(uuid.UUID(business.id), f"{resource}:{number}").hex
            if "id" not in catalogue.definition_fields(resource):
                key = body.get("currency_id") or key  # exchange rates: one per currency
            if (resource, key) in have:
                continue
            have.add((resource, key))
            moment = epoch + dt.timedelta(minutes=offset * per_resource + number)
            record = build_record(
                business=business, resource=resource, body=body, key=key, moment=moment, number=number
            )
            remember_record(record)
            batch.append(record)
    GenericRecord.objects.bulk_create(batch)
    return len(batch)
