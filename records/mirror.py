"""Writing Sage items into the mirror: idempotent upserts, deletions, and removing a connection's whole mirror.

Only new or changed items are written (an item is unchanged when Sage sends exactly what is stored), so running a
sync twice, or an incremental sync whose overlap re-lists a few items, changes nothing and counts nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.db import IntegrityError, router, transaction
from django.db import connections as db_connections
from django.utils import timezone

from connections.models import Connection

from .models import Contact, ContactPayment, PaymentAllocation, SalesInvoice, SalesInvoiceLine
from .resources import RESOURCES, Resource, common_fields

DELETE_CHUNK = 500


@dataclass
class Written:
    created: int = 0
    updated: int = 0


def upsert_items(
    *, connection: Connection, business_id: str, business_name: str, resource: Resource, items: Iterable[dict]
) -> Written:
    """Create or update one page of items (and their lines/allocations) in one transaction."""
    by_id = {str(item["id"]): item for item in items if isinstance(item, dict) and item.get("id")}
    if not by_id:
        return Written()
    try:
        return _upsert(connection, business_id, business_name, resource, by_id)
    except IntegrityError:
        # Another writer (a staff "Refresh from Sage") created one of these rows meanwhile: read again, once.
        return _upsert(connection, business_id, business_name, resource, by_id)


@transaction.atomic
def _upsert(connection, business_id, business_name, resource: Resource, by_id: dict[str, dict]) -> Written:
    model = resource.model
    scope = model.objects.filter(connection=connection, business_id=business_id)
    existing = {
        sage_id: (pk, raw)
        for sage_id, pk, raw in scope.filter(sage_id__in=list(by_id)).values_list("sage_id", "pk", "raw")
    }
    now = timezone.now()
    new_rows, changed_rows = [], []
    for sage_id, item in by_id.items():
        known = existing.get(sage_id)
        if known is not None and known[1] == item:
            continue
        row = {
            "connection_id": connection.pk,
            "business_id": business_id,
            "business_name": business_name[:255],
            "sage_id": sage_id[:100],
            "raw": item,
            "synced_at": now,
            **common_fields(item),
            **resource.fields(item),
        }
        if known is None:
            new_rows.append(row)
        else:
            changed_rows.append(model(pk=known[0], **row))
    parent_ids = {}
    if new_rows:
        insert_rows(model, new_rows)
        parent_ids = dict(
            scope.filter(sage_id__in=[row["sage_id"] for row in new_rows]).values_list("sage_id", "pk")
        )
    if changed_rows:
        update_fields = ["business_name", "raw", "synced_at", *common_fields({}), *resource.typed_field_names]
        model.objects.bulk_update(changed_rows, update_fields)
        parent_ids.update({row.sage_id: row.pk for row in changed_rows})
    if resource.children is not None:
        _replace_children(resource, by_id, parent_ids, changed=[row.pk for row in changed_rows])
    return Written(created=len(new_rows), updated=len(changed_rows))


def _replace_children(
    resource: Resource, by_id: dict[str, dict], parent_ids: dict[str, int], changed
) -> None:
    parent_column = f"{resource.child_parent_field}_id"
    if changed:
        resource.child_model.objects.filter(**{f"{parent_column}__in": changed}).delete()
    children = [
        {**child, parent_column: parent_id}
        for sage_id, parent_id in parent_ids.items()
        for child in resource.children(by_id[sage_id])
    ]
    insert_rows(resource.child_model, children)


def insert_rows(model, rows: list[dict]) -> None:
    """INSERT plain dicts of attribute values in one executemany, without building model instances.

    A full sync writes tens of thousands of rows; measured (bench/sync_and_browse.py), bulk_create spent most
    of a sync's own time building instances and compiling one placeholder per value. Values still go through
    each field's get_db_prep_save (JSON, dates, decimals as the database wants them); defaults fill the rest.
    """
    if not rows:
        return
    db_alias = router.db_for_write(model)
    db = db_connections[db_alias]
    fields = [field for field in model._meta.concrete_fields if not field.primary_key]
    quote = db.ops.quote_name
    sql = "INSERT INTO {} ({}) VALUES ({})".format(  # noqa: S608 (names from the model, values are parameters)
        quote(model._meta.db_table),
        ", ".join(quote(field.column) for field in fields),
        ", ".join(["%s"] * len(fields)),
    )
    defaults = {field.attname: field.get_default() for field in fields}
    values = [
        [field.get_db_prep_save(row.get(field.attname, defaults[field.attname]), db) for field in fields]
        for row in rows
    ]
    with db.cursor() as cursor:
        cursor.executemany(sql, values)


def delete_items(
    *, connection: Connection, business_id: str, resource: Resource, sage_ids: Iterable[str]
) -> int:
    """Delete these Sage ids from the mirror (with their lines/allocations); returns how many were there."""
    ids = list(dict.fromkeys(str(sage_id) for sage_id in sage_ids))
    deleted = 0
    for start in range(0, len(ids), DELETE_CHUNK):
        chunk = ids[start : start + DELETE_CHUNK]
        with transaction.atomic():
            records = resource.model.objects.filter(
                connection=connection, business_id=business_id, sage_id__in=chunk
            )
            if resource.child_model is not None:
                resource.child_model.objects.filter(
                    **{f"{resource.child_parent_field}__in": records}
                ).delete()
            deleted += _delete(records)
    return deleted


def delete_missing(*, connection: Connection, business_id: str, resource: Resource, seen: set[str]) -> int:
    """After a complete full listing: delete what the mirror holds that Sage no longer lists."""
    held = resource.model.objects.filter(connection=connection, business_id=business_id).values_list(
        "sage_id", flat=True
    )
    missing = [sage_id for sage_id in held.iterator(chunk_size=2000) if sage_id not in seen]
    return delete_items(connection=connection, business_id=business_id, resource=resource, sage_ids=missing)


def delete_mirror(*, connection_id: int) -> int:
    """Remove every mirrored record of a connection, all businesses (disconnect). Children first, in bulk."""
    deleted = 0
    with transaction.atomic():
        SalesInvoiceLine.objects.filter(invoice__connection_id=connection_id).delete()
        PaymentAllocation.objects.filter(payment__connection_id=connection_id).delete()
        for model in (Contact, SalesInvoice, ContactPayment):
            deleted += _delete(model.objects.filter(connection_id=connection_id))
    return deleted


def _delete(records) -> int:
    # Only the ids are loaded for Django's cascade bookkeeping, never the raw JSON of thousands of rows.
    _, per_model = records.only("pk").delete()
    return per_model.get(records.model._meta.label, 0)


def mirror_counts(*, connection_id: int, business_id: str | None = None) -> dict[str, int]:
    counts = {}
    for name, resource in RESOURCES.items():
        records = resource.model.objects.filter(connection_id=connection_id)
        if business_id is not None:
            records = records.filter(business_id=business_id)
        counts[name] = records.count()
    return counts
