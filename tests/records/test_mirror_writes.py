"""The mirror's write path: rows written without model instances read back as the ORM would have written them,
changed items update in place, each page's lookup goes through the unique key, and items keep Sage's own text."""

import datetime as dt
import json
from decimal import Decimal

import pytest
import requests
from django.db import connection as db

from connections.models import Connection, EndUser
from records import mirror
from records.listing import SageItem, read_list, read_list_answer
from records.models import Contact, SalesInvoice, SalesInvoiceLine
from records.resources import CONTACTS, SALES_INVOICES

pytestmark = pytest.mark.django_db

BUSINESS = "biz-1"


@pytest.fixture
def mirror_connection() -> Connection:
    end_user = EndUser.objects.create(kind=EndUser.Kind.EXTERNAL, external_id="mirror-writes")
    return Connection.objects.create(
        end_user=end_user, client_id="c", status=Connection.Status.ACTIVE, business_id=BUSINESS
    )


def write(connection, resource, *items):
    return mirror.upsert_items(
        connection=connection,
        business_id=BUSINESS,
        business_name="Biz One",
        resource=resource,
        items=list(items),
    )


def invoice_item(**changes) -> dict:
    return {
        "id": "inv-1",
        "displayed_as": "SI-1",
        "created_at": "2026-03-01T09:30:00+01:00",
        "updated_at": "2026-03-02T10:00:00",  # no offset: UTC
        "invoice_number": "SI-1",
        "contact": {"id": "c-1", "displayed_as": "Acme Ltd (ACME)"},
        "date": "2026-03-01",
        "due_date": "2026-03-31",
        "status": {"id": "UNPAID"},
        "currency": {"id": "GBP"},
        "net_amount": "100.00",
        "tax_amount": 20,  # a JSON number, not a string
        "total_amount": "120.00",
        "outstanding_amount": "NaN",  # not an amount
        "invoice_lines": [
            {
                "id": "l-1",
                "description": "Widgets",
                "quantity": "2.5",
                "unit_price": "40.00",
                "net_amount": "100.00",
            }
        ],
        **changes,
    }


def test_rows_read_back_as_the_orm_would_have_written_them(mirror_connection):
    written = write(mirror_connection, SALES_INVOICES, invoice_item())

    assert (written.created, written.updated) == (1, 0)
    invoice = SalesInvoice.objects.get(connection=mirror_connection, sage_id="inv-1")
    assert invoice.sage_created_at == dt.datetime(2026, 3, 1, 8, 30, tzinfo=dt.UTC)
    assert invoice.sage_updated_at == dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.UTC)
    assert (invoice.date, invoice.due_date) == (dt.date(2026, 3, 1), dt.date(2026, 3, 31))
    assert (invoice.net_amount, invoice.tax_amount, invoice.total_amount) == (
        Decimal("100.00"),
        Decimal("20.00"),
        Decimal("120.00"),
    )
    assert invoice.outstanding_amount is None
    assert (invoice.status, invoice.currency, invoice.contact_sage_id) == ("UNPAID", "GBP", "c-1")
    assert (invoice.business_name, invoice.raw) == ("Biz One", invoice_item())
    line = SalesInvoiceLine.objects.get(invoice=invoice)
    assert (line.description, line.quantity, line.unit_price) == ("Widgets", Decimal("2.5"), Decimal("40"))
    # The same row saved through the ORM reads back identically.
    invoice.pk = None
    invoice.sage_id = "inv-2"
    invoice.save()
    saved, written_row = (
        SalesInvoice.objects.filter(sage_id=sage_id).values().get() for sage_id in ("inv-2", "inv-1")
    )
    assert {key: value for key, value in saved.items() if key not in ("id", "sage_id")} == {
        key: value for key, value in written_row.items() if key not in ("id", "sage_id")
    }


def test_a_changed_item_is_updated_in_place_and_its_lines_replaced(mirror_connection):
    write(mirror_connection, SALES_INVOICES, invoice_item())
    first = SalesInvoice.objects.get(sage_id="inv-1")

    unchanged = write(mirror_connection, SALES_INVOICES, invoice_item())
    changed = write(
        mirror_connection,
        SALES_INVOICES,
        invoice_item(
            status={"id": "PAID"},
            outstanding_amount="0.00",
            invoice_lines=[{"id": "l-2", "description": "Gadgets"}, {"id": "l-3", "description": "Bolts"}],
        ),
    )

    assert (unchanged.created, unchanged.updated) == (0, 0)
    assert (changed.created, changed.updated) == (0, 1)
    invoice = SalesInvoice.objects.get(sage_id="inv-1")
    assert invoice.pk == first.pk
    assert (invoice.status, invoice.outstanding_amount) == ("PAID", Decimal("0.00"))
    assert invoice.synced_at >= first.synced_at
    assert list(invoice.lines.values_list("sage_id", "description")) == [("l-2", "Gadgets"), ("l-3", "Bolts")]


def test_a_row_another_writer_created_meanwhile_is_read_again_and_updated(mirror_connection, monkeypatch):
    contact = {"id": "c-1", "name": "Acme Ltd"}
    write(mirror_connection, CONTACTS, contact)  # e.g. a staff "Refresh from Sage", after the sync looked
    real_held, looks = mirror.held, []

    def held_missing_the_first_time(model, connection_id, business_id, sage_ids, *columns):
        looks.append(sage_ids)
        return real_held(model, connection_id, business_id, sage_ids if len(looks) > 1 else [], *columns)

    monkeypatch.setattr(mirror, "held", held_missing_the_first_time)
    written = write(mirror_connection, CONTACTS, {**contact, "name": "Acme Widgets Ltd"})

    assert len(looks) == 2  # the INSERT hit the unique key; the page was read again and written once
    assert (written.created, written.updated) == (0, 1)
    assert list(Contact.objects.values_list("sage_id", "name")) == [("c-1", "Acme Widgets Ltd")]


def test_each_pages_lookup_goes_through_the_unique_key(mirror_connection):
    # The model's ordering (name, id) made SQLite read the connection's whole mirror for every page of a sync.
    lookup = mirror.held(Contact, mirror_connection.pk, BUSINESS, [f"id-{n}" for n in range(200)], "pk")
    sql, params = lookup.query.sql_with_params()
    assert "ORDER BY" not in sql
    if db.vendor == "sqlite":
        with db.cursor() as cursor:
            cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params)
            plan = " ".join(str(row[-1]) for row in cursor.fetchall())
        assert "sage_id=?" in plan and "conn_name" not in plan, plan


def test_items_keep_the_text_sage_sent_and_are_stored_as_it(mirror_connection):
    items = [
        {"id": "c-1", "displayed_as": "Acme Ltd", "name": "Acme Ltd", "balance": "1.50", "$items": [1]},
        {"id": "c-2", "name": "Zoë \u2603", "email": None},
    ]
    first, second = (json.dumps(item, indent=1, ensure_ascii=False) for item in items)
    body = '{"$total": 2, "$items" : [\n ' + first + " ," + second + '], "$next": null}'

    envelope = read_list(body)

    assert envelope == json.loads(body)
    assert all(isinstance(item, SageItem) for item in envelope["$items"])
    assert [json.loads(item.text) for item in envelope["$items"]] == items
    write(mirror_connection, CONTACTS, *envelope["$items"])
    with db.cursor() as cursor:
        cursor.execute("SELECT raw FROM records_contact WHERE sage_id = %s", ["c-2"])
        stored = cursor.fetchone()[0]
    assert Contact.objects.get(sage_id="c-2").raw == items[1]
    if db.vendor == "sqlite":  # PostgreSQL's jsonb keeps its own form of the text
        assert stored == envelope["$items"][1].text


@pytest.mark.parametrize(
    "body",
    ['{"$items": []}', "[1, 2]", '{"a": {"$items": [{"b": 1}]}}', ' {"$items": [{"id": 1}, 3] } ', "{}"],
)
def test_any_json_answer_reads_as_json_loads_reads_it(body):
    assert read_list(body) == json.loads(body)


@pytest.mark.parametrize("body", ['{"$items": [{"id": 1}]', '{"$items": []} x', "", "<html>"])
def test_an_answer_that_is_not_json_is_refused(body):
    with pytest.raises(ValueError):
        read_list(body)


@pytest.mark.parametrize(
    ("encoding", "texts_kept"), [("utf-8", True), ("utf-8-sig", True), ("utf-16", False)]
)
def test_an_answer_in_any_json_encoding_is_read(encoding, texts_kept):
    response = requests.Response()
    response.status_code = 200
    response._content = '{"$items": [{"id": "c-1", "name": "Zoë"}], "$total": 1}'.encode(encoding)

    envelope = read_list_answer(response)

    assert envelope == {"$items": [{"id": "c-1", "name": "Zoë"}], "$total": 1}
    assert isinstance(envelope["$items"][0], SageItem) is texts_kept
