"""What is mirrored of each Sage collection: its path, the `attributes` asked for, and the typed columns.

The attributes are chosen so one list call carries everything the admin shows (lines and allocations included):
a sync never needs one call per record.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation

from django.utils.dateparse import parse_date, parse_datetime

from .models import (
    Contact,
    ContactPayment,
    MirroredRecord,
    PaymentAllocation,
    SalesInvoice,
    SalesInvoiceLine,
)


def to_decimal(value) -> Decimal | None:
    """Sage amounts arrive as decimal strings ("25.99") or JSON numbers; never go through float arithmetic."""
    if value is None or value == "":
        return None
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    return amount if amount.is_finite() else None  # "NaN" or "Infinity" is no amount


def to_datetime(value) -> datetime | None:
    """Aware, as the mirror writes it without Django's per-value checks (a time without an offset is UTC)."""
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = parse_datetime(value)
    except ValueError:
        return None
    if moment is not None and moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment


def to_date(value) -> date | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return parse_date(value[:10])
    except ValueError:
        return None


def link_id(value) -> str:
    return str(value.get("id") or "") if isinstance(value, dict) else ""


def link_label(value) -> str:
    return str(value.get("displayed_as") or value.get("id") or "")[:255] if isinstance(value, dict) else ""


def text(value, limit: int = 255) -> str:
    return "" if value is None else str(value)[:limit]


def common_fields(item: dict) -> dict:
    return {
        "displayed_as": text(item.get("displayed_as")),
        "sage_created_at": to_datetime(item.get("created_at")),
        "sage_updated_at": to_datetime(item.get("updated_at")),
    }


def contact_fields(item: dict) -> dict:
    types = {link_id(kind) for kind in item.get("contact_types") or []}
    email = item.get("email") or (item.get("main_contact_person") or {}).get("email")
    return {
        "name": text(item.get("name") or item.get("displayed_as")),
        "reference": text(item.get("reference"), 100),
        "email": text(email, 254),
        "is_customer": "CUSTOMER" in types,
        "is_vendor": bool(types & {"VENDOR", "SUPPLIER"}),
        "currency": link_id(item.get("currency"))[:10],
        "balance": to_decimal(item.get("balance")),
    }


def invoice_fields(item: dict) -> dict:
    contact = item.get("contact")
    return {
        "invoice_number": text(item.get("invoice_number") or item.get("displayed_as"), 100),
        "contact_sage_id": link_id(contact)[:100],
        "contact_name": text(item.get("contact_name") or link_label(contact)),
        "reference": text(item.get("reference")),
        "date": to_date(item.get("date")),
        "due_date": to_date(item.get("due_date")),
        "status": link_id(item.get("status"))[:30],
        "currency": link_id(item.get("currency"))[:10],
        "net_amount": to_decimal(item.get("net_amount")),
        "tax_amount": to_decimal(item.get("tax_amount")),
        "total_amount": to_decimal(item.get("total_amount")),
        "outstanding_amount": to_decimal(item.get("outstanding_amount")),
    }


def invoice_lines(item: dict) -> list[dict]:
    """The SalesInvoiceLine rows of an invoice, as attribute values."""
    return [
        {
            "position": position,
            "sage_id": text(line.get("id"), 100),
            "description": text(line.get("description"), 1000),
            "ledger_account": link_label(line.get("ledger_account")),
            "quantity": to_decimal(line.get("quantity")),
            "unit_price": to_decimal(line.get("unit_price")),
            "net_amount": to_decimal(line.get("net_amount")),
            "tax_amount": to_decimal(line.get("tax_amount")),
            "total_amount": to_decimal(line.get("total_amount")),
        }
        for position, line in enumerate(item.get("invoice_lines") or [])
        if isinstance(line, dict)
    ]


def payment_fields(item: dict) -> dict:
    contact = item.get("contact")
    return {
        "transaction_type": link_id(item.get("transaction_type"))[:40],
        "payment_method": link_label(item.get("payment_method"))[:100],
        "contact_sage_id": link_id(contact)[:100],
        "contact_name": link_label(contact),
        "bank_account": link_label(item.get("bank_account")),
        "date": to_date(item.get("date")),
        "reference": text(item.get("reference")),
        "currency": link_id(item.get("currency"))[:10],
        "total_amount": to_decimal(item.get("total_amount")),
    }


def payment_allocations(item: dict) -> list[dict]:
    """The PaymentAllocation rows of a payment, as attribute values."""
    return [
        {
            "position": position,
            "invoice_sage_id": link_id(allocation.get("artefact"))[:100],
            "invoice_displayed_as": link_label(allocation.get("artefact")),
            "amount": to_decimal(allocation.get("amount")),
            "discount": to_decimal(allocation.get("discount")),
        }
        for position, allocation in enumerate(item.get("allocated_artefacts") or [])
        if isinstance(allocation, dict)
    ]


@dataclass(frozen=True)
class Resource:
    name: str  # Sage's collection path, also the step's name
    model: type[MirroredRecord]
    attributes: tuple[str, ...]
    fields: Callable[[dict], dict]
    # The child rows of an item (invoice lines, payment allocations) as attribute values, written with it.
    children: Callable[[dict], list[dict]] | None = None
    child_model: type | None = None
    child_parent_field: str = ""


COMMON_ATTRIBUTES = ("created_at", "updated_at")

CONTACTS = Resource(
    name="contacts",
    model=Contact,
    attributes=(
        *COMMON_ATTRIBUTES,
        "name",
        "contact_types",
        "reference",
        "email",
        "main_contact_person",
        "main_address",
        "currency",
        "balance",
        "credit_limit",
        "credit_days",
        "tax_number",
    ),
    fields=contact_fields,
)
SALES_INVOICES = Resource(
    name="sales_invoices",
    model=SalesInvoice,
    attributes=(
        *COMMON_ATTRIBUTES,
        "invoice_number",
        "contact",
        "contact_name",
        "contact_reference",
        "date",
        "due_date",
        "reference",
        "status",
        "currency",
        "net_amount",
        "tax_amount",
        "total_amount",
        "outstanding_amount",
        "total_paid",
        "void_reason",
        "sent",
        "last_paid",
        "invoice_lines",
    ),
    fields=invoice_fields,
    children=invoice_lines,
    child_model=SalesInvoiceLine,
    child_parent_field="invoice",
)
CONTACT_PAYMENTS = Resource(
    name="contact_payments",
    model=ContactPayment,
    attributes=(
        *COMMON_ATTRIBUTES,
        "transaction_type",
        "payment_method",
        "contact",
        "bank_account",
        "date",
        "reference",
        "currency",
        "net_amount",
        "tax_amount",
        "total_amount",
        "allocated_artefacts",
    ),
    fields=payment_fields,
    children=payment_allocations,
    child_model=PaymentAllocation,
    child_parent_field="payment",
)

RESOURCES: dict[str, Resource] = {
    resource.name: resource for resource in (CONTACTS, SALES_INVOICES, CONTACT_PAYMENTS)
}


def resource_for_model(model: type) -> Resource:
    return next(resource for resource in RESOURCES.values() if resource.model is model)
