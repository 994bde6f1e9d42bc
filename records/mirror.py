"""Writing Sage items into the mirror: idempotent upserts, deletions, and removing a connection's whole mirror.

Only new or changed items are written (an item is unchanged when Sage sends exactly what is stored), so running a
sync twice, or an incremental sync whose overlap re-lists a few items, changes nothing and counts nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import partial
from operator import itemgetter

from django.db import IntegrityError, router, transaction
from django.db import connections as db_connections
from django.utils import timezone

from connections.models import Connection

from .listing import StoreAsSent
from .models import Contact, ContactPayment, PaymentAllocation, SalesInvoice, SalesInvoiceLine
from .resources import RESOURCES, Resource, common_fields

DELETE_CHUNK = 500
# What identifies a mirrored row (never updated).
KEY = ("id", "connection_id", "business_id", "sage_id")


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
    existing = {
        sage_id: (pk, raw)
        for sage_id, pk, raw in held(model, connection.pk, business_id, list(by_id), "sage_id", "pk", "raw")
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
            changed_rows.append({"id": known[0], **row})
    insert_rows(model, new_rows)
    update_rows(model, changed_rows)
    if resource.children is not None:
        new_ids = [row["sage_id"] for row in new_rows]
        parent_ids = (
            dict(held(model, connection.pk, business_id, new_ids, "sage_id", "pk")) if new_ids else {}
        )
        parent_ids.update({row["sage_id"]: row["id"] for row in changed_rows})
        _replace_children(resource, by_id, parent_ids, changed=[row["id"] for row in changed_rows])
    return Written(created=len(new_rows), updated=len(changed_rows))


def held(model, connection_id: int, business_id: str, sage_ids: list[str], *columns: str):
    """`columns` of the mirrored rows with these Sage ids, through the unique key's index.

    Unordered on purpose: with the model's ordering (name, id) SQLite chose the per-connection list index, which
    hands rows out in that order, and read the connection's whole mirror for every page (a full sync grew
    quadratic: 29 ms a page on average over a sync of 10 000 contacts, measured, against 1.5 ms now).
    """
    return (
        model.objects.order_by()
        .filter(connection_id=connection_id, business_id=business_id, sage_id__in=sage_ids)
        .values_list(*columns)
    )


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
    """INSERT plain dicts of attribute values, without building model instances: one COPY on PostgreSQL, one
    executemany elsewhere. Defaults fill the missing attributes.

    A full sync writes tens of thousands of rows; measured (bench/sync_and_browse.py), bulk_create spent most
    of a sync's own time building instances and compiling one placeholder per value, Django's per-field
    get_db_prep_save much of what was left (see _adapters), and on PostgreSQL executemany's client-side
    binding (one statement built per row) three times what COPY takes.
    """
    if not rows:
        return
    db = db_connections[router.db_for_write(model)]
    fields = [field for field in model._meta.concrete_fields if not field.primary_key]
    defaults = {field.attname: field.get_default() for field in fields}
    values = _values(model, db, [field.attname for field in fields], [{**defaults, **row} for row in rows])
    table = db.ops.quote_name(model._meta.db_table)
    columns = ", ".join(db.ops.quote_name(field.column) for field in fields)
    with db.cursor() as cursor:
        if db.vendor == "postgresql":
            with db.wrap_database_errors, cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for value in values:
                    copy.write_row(value)
        else:
            placeholders = ", ".join(["%s"] * len(fields))
            sql = f"INSERT INTO {table} ({columns}) VALUES ({placeholders})"  # noqa: S608 (values are parameters)
            cursor.executemany(sql, values)


def update_rows(model, rows: list[dict]) -> None:
    """UPDATE each row (a dict with its "id") by primary key, every attribute it carries but the KEY, in one
    executemany (bulk_update would build a CASE WHEN per column over every row of the page)."""
    if not rows:
        return
    names = [name for name in rows[0] if name not in KEY]
    db = db_connections[router.db_for_write(model)]
    columns = {field.attname: field.column for field in model._meta.concrete_fields}
    quote = db.ops.quote_name
    sql = "UPDATE {} SET {} WHERE {} = %s".format(  # noqa: S608 (names from the model, values are parameters)
        quote(model._meta.db_table),
        ", ".join(f"{quote(columns[name])} = %s" for name in names),
        quote(model._meta.pk.column),
    )
    with db.cursor() as cursor:
        cursor.executemany(sql, _values(model, db, [*names, "id"], rows))


def _values(model, db, names: list[str], rows: list[dict]) -> list[list]:
    """Each row's values of `names`, in that order, as the database driver takes them."""
    take = itemgetter(*names)
    adapters = _adapters(model, db)
    adapted = [(position, adapters[name]) for position, name in enumerate(names) if name in adapters]
    values = []
    for row in rows:
        value = list(take(row))
        for position, adapt in adapted:
            value[position] = adapt(value[position])
        values.append(value)
    return values


def _adapters(model, db) -> dict:
    """attname → adapt, for the columns whose values a database driver does not take as they are.

    The rows come from resources.py, already of each column's Python type (str, bool, int, Decimal, date,
    aware datetime, dict): only JSON, decimals, dates and times go through the backend's own adapter, and
    nothing is validated again. Django's get_db_prep_save, field by field and value by value, cost more than
    the INSERTs themselves on a full sync (to_python, naive-datetime checks, one call per column).
    """
    adapters = {}
    for field in model._meta.concrete_fields:
        kind = field.get_internal_type()
        if kind == "JSONField":
            # A SageItem is stored as the text Sage sent (listing.py), not encoded again.
            adapters[field.attname] = partial(db.ops.adapt_json_value, encoder=field.encoder or StoreAsSent)
        elif kind == "DateTimeField":
            adapters[field.attname] = db.ops.adapt_datetimefield_value
        elif kind == "DateField":
            adapters[field.attname] = db.ops.adapt_datefield_value
        elif kind == "DecimalField":
            adapters[field.attname] = partial(
                db.ops.adapt_decimalfield_value,
                max_digits=field.max_digits,
                decimal_places=field.decimal_places,
            )
    return adapters


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
    # Unordered: the unique key's index holds these columns, so the table itself is never read.
    mirrored = (
        resource.model.objects.order_by()
        .filter(connection=connection, business_id=business_id)
        .values_list("sage_id", flat=True)
    )
    missing = [sage_id for sage_id in mirrored.iterator(chunk_size=2000) if sage_id not in seen]
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
