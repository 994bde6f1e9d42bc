"""/sales_invoices: list, get, create, update, release, void/delete; totals computed from the lines."""

import datetime as dt
import re
from decimal import Decimal

from django.db import transaction
from django.db.models import Max, Prefetch, Q
from django.http import HttpResponse, JsonResponse

from sandbox.amounts import ZERO, round_money
from sandbox.collections import paginate
from sandbox.models.accounting import (
    Contact,
    LedgerAccount,
    PaymentAllocation,
    SalesInvoice,
    SalesInvoiceLine,
    TaxRate,
)

from .common import (
    Validator,
    accounting_endpoint,
    apply_sort,
    code_link,
    currency_link,
    date_param,
    filter_changes,
    format_date,
    get_alive,
    method_not_allowed,
    money,
    now,
    timestamps,
    wrapped_body,
)

# Exactly the sort attributes Sage's description lists for /sales_invoices.
SORTS = {"created_at": "created_at", "updated_at": "updated_at", "date": "date", "due_date": "due_date"}
DEFAULT_PAYMENT_DAYS = 30
SETTABLE_STATUSES = (SalesInvoice.DRAFT, SalesInvoice.UNPAID)
# Sage's maxLengths for the fields of an invoice body (definitions.SalesInvoice; the invoice lines declare none);
# the fidelity tests hold this table to the description.
INVOICE_LIMITS = {
    "invoice_number_prefix": 6,
    "contact_name": 255,
    "contact_reference": 255,
    "reference": 25,
    "notes": 2000,
    "terms_and_conditions": 2000,
    "delivery_performance_date": 40,
}
VOID_REASON_LIMIT = 200  # SalesInvoice.void_reason


# --- representation ----------------------------------------------------------------------------------


def serialize_line(line: SalesInvoiceLine) -> dict:
    return {
        "id": line.id,
        "displayed_as": line.displayed_as,
        "description": line.description,
        "ledger_account": line.ledger_account.as_link(),
        "quantity": money(line.quantity),
        "unit_price": money(line.unit_price),
        "unit_price_includes_tax": line.unit_price_includes_tax,
        "discount_amount": money(line.discount_amount),
        "net_amount": money(line.net_amount),
        "tax_rate": line.tax_rate.as_link() if line.tax_rate else None,
        "tax_amount": money(line.tax_amount),
        "total_amount": money(line.total_amount),
    }


def _tax_analysis(lines: list[SalesInvoiceLine]) -> list[dict]:
    by_rate: dict = {}
    for line in lines:
        if line.tax_rate is None:
            continue
        net, tax = by_rate.get(line.tax_rate, (ZERO, ZERO))
        by_rate[line.tax_rate] = (net + line.net_amount, tax + line.tax_amount)
    return [
        {
            "tax_rate": rate.as_link(),
            "net_amount": money(net),
            "tax_amount": money(tax),
            "total_amount": money(net + tax),
        }
        for rate, (net, tax) in by_rate.items()
    ]


def _payments_allocations(invoice: SalesInvoice) -> list[dict]:
    return [
        {
            "date": format_date(allocation.payment.date),
            "type": "CUSTOMER_RECEIPT",
            "reference": allocation.payment.reference,
            "amount": money(allocation.amount),
            "discount": money(allocation.discount),
            "displayed_as": allocation.payment.displayed_as,
            "contact_payment": allocation.payment.as_link(),
        }
        for allocation in invoice.allocations.all()
        if allocation.payment.deleted_at is None
    ]


def serialize_invoice(invoice: SalesInvoice, *, show_payments_allocations: bool = False) -> dict:
    lines = list(invoice.lines.all())
    paid = invoice.paid_amount if invoice.status != SalesInvoice.VOID else ZERO
    answer = {
        "id": invoice.id,
        "displayed_as": invoice.displayed_as,
        "$path": invoice.api_path,
        **timestamps(invoice),
        "editable": invoice.editable,
        "transaction_type": code_link("transaction_types", "SALES_INVOICE", "Sales Invoice"),
        "contact": invoice.contact.as_link(),
        "invoice_number_prefix": invoice.invoice_number_prefix,
        "invoice_number": invoice.invoice_number,
        "contact_name": invoice.contact_name,
        "contact_reference": invoice.contact_reference,
        "date": format_date(invoice.date),
        "due_date": format_date(invoice.due_date),
        "reference": invoice.reference,
        "notes": invoice.notes,
        "net_amount": money(invoice.net_amount),
        "tax_amount": money(invoice.tax_amount),
        "total_amount": money(invoice.total_amount),
        "payments_allocations_total_amount": money(paid),
        "payments_allocations_total_discount": money(ZERO),
        "total_paid": money(paid),
        "outstanding_amount": money(invoice.outstanding_amount),
        "currency": currency_link(invoice.currency_code),
        "exchange_rate": money(Decimal(1)),
        "total_quantity": money(invoice.total_quantity),
        "total_discount_amount": money(sum((line.discount_amount for line in lines), ZERO)),
        "status": code_link("artefact_statuses", invoice.status, SalesInvoice.STATUS_NAMES[invoice.status]),
        "sent": invoice.sent,
        "void_reason": invoice.void_reason or None,
        "invoice_lines": [serialize_line(line) for line in lines],
        "tax_analysis": _tax_analysis(lines),
        "last_paid": format_date(invoice.last_paid),
    }
    if show_payments_allocations:
        answer["payments_allocations"] = _payments_allocations(invoice)
    return answer


def _with_details(queryset):
    return queryset.select_related("contact").prefetch_related(
        Prefetch("lines", queryset=SalesInvoiceLine.objects.select_related("ledger_account", "tax_rate")),
        Prefetch("allocations", queryset=PaymentAllocation.objects.select_related("payment")),
    )


# --- services ----------------------------------------------------------------------------------------


def _read_lines(business, raw_lines, validator: Validator) -> list[tuple[SalesInvoiceLine, object]]:
    """Build unsaved lines (with the client's own tax_amount when given) from `invoice_lines`."""
    if not isinstance(raw_lines, list) or not raw_lines:
        validator.error("invoice_lines", "invoice_lines is missing")
        return []
    ledger_ids = {raw.get("ledger_account_id") for raw in raw_lines if isinstance(raw, dict)}
    tax_keys = {raw.get("tax_rate_id") for raw in raw_lines if isinstance(raw, dict)}
    ledgers = {
        ledger.id: ledger
        for ledger in LedgerAccount.objects.alive().filter(business=business, id__in=ledger_ids)
    }
    rates = {rate.key: rate for rate in TaxRate.objects.filter(business=business, key__in=tax_keys)}
    lines = []
    for index, raw in enumerate(raw_lines):
        where = f"invoice_lines[{index}]"
        if not isinstance(raw, dict):
            validator.error(where, "An invoice line must be an object")
            continue
        for field in ("description", "ledger_account_id", "unit_price"):
            validator.require(raw, field, f"{where}.{field}")
        ledger = ledgers.get(raw.get("ledger_account_id"))
        if raw.get("ledger_account_id") and ledger is None:
            validator.error(f"{where}.ledger_account_id", "Couldn't find the ledger account")
        rate = rates.get(raw.get("tax_rate_id"))
        if raw.get("tax_rate_id") and rate is None:
            validator.error(f"{where}.tax_rate_id", "Couldn't find the tax rate")
        unit_price = validator.amount(raw, "unit_price", f"{where}.unit_price")
        quantity = validator.amount(raw, "quantity", f"{where}.quantity")
        discount = validator.amount(raw, "discount_amount", f"{where}.discount_amount")
        given_tax = validator.amount(raw, "tax_amount", f"{where}.tax_amount")
        if quantity is not None and quantity <= 0:
            validator.error(f"{where}.quantity", "quantity must be greater than 0")
        if ledger is None or unit_price is None or not raw.get("description"):
            continue
        line = SalesInvoiceLine(
            position=index,
            description=str(raw["description"]),
            ledger_account=ledger,
            quantity=round_money(quantity if quantity is not None else Decimal(1)),
            unit_price=round_money(unit_price),
            unit_price_includes_tax=bool(raw.get("unit_price_includes_tax", False)),
            discount_amount=round_money(discount or ZERO),
            tax_rate=rate,
        )
        lines.append((line, given_tax))
    return lines


def _read_header(business, body: dict, validator: Validator, *, creating: bool) -> dict:
    fields: dict = {}
    validator.max_lengths(body, INVOICE_LIMITS)
    if creating:
        validator.require(body, "contact_id")
        validator.require(body, "date")
    if body.get("contact_id"):
        contact = Contact.objects.alive().filter(business=business, id=body["contact_id"]).first()
        if contact is None:
            validator.error("contact_id", "Couldn't find Customer.")
        elif not contact.is_customer:
            validator.error("contact_id", "The contact is not a customer")
        else:
            fields["contact"] = contact
    for name in ("date", "due_date"):
        day = validator.date(body, name)
        if day is not None:
            fields[name] = day
    for text_field in ("reference", "notes"):
        if body.get(text_field) is not None:
            fields[text_field] = str(body[text_field])
    if "sent" in body:
        fields["sent"] = bool(body["sent"])
    if body.get("currency_id"):
        fields["currency_code"] = str(body["currency_id"])
    status = body.get("status_id")
    if status:
        if creating and status in SETTABLE_STATUSES:
            fields["status"] = status
        elif creating:
            validator.error("status_id", "status_id must be DRAFT or UNPAID")
    return fields


def _check_dates(validator: Validator, fields: dict, invoice: SalesInvoice | None = None) -> None:
    date = fields.get("date") or (invoice.date if invoice else None)
    due_date = fields.get("due_date") or (invoice.due_date if invoice else None)
    if date and due_date and due_date < date:
        validator.error("due_date", "due_date must be on or after the invoice date")


def _save_lines(invoice: SalesInvoice, lines: list[tuple[SalesInvoiceLine, object]]) -> None:
    for line, given_tax in lines:
        line.invoice = invoice
        line.compute_amounts(given_tax_amount=given_tax)
    invoice.lines.all().delete()
    SalesInvoiceLine.objects.bulk_create([line for line, _ in lines])
    invoice.apply_line_totals([line for line, _ in lines])


def _next_number(business) -> int:
    # Lock the business row so two concurrent creates (PostgreSQL) cannot take the same number.
    list(type(business).objects.select_for_update().filter(pk=business.pk).values_list("pk"))
    highest = SalesInvoice.objects.filter(business=business).aggregate(highest=Max("number"))["highest"]
    return (highest or 0) + 1


@transaction.atomic
def create_invoice(*, business, body: dict) -> SalesInvoice:
    validator = Validator()
    fields = _read_header(business, body, validator, creating=True)
    lines = _read_lines(business, body.get("invoice_lines"), validator)
    _check_dates(validator, fields)
    validator.raise_if_any()
    contact = fields["contact"]
    if "due_date" not in fields:
        fields["due_date"] = fields["date"] + dt.timedelta(days=contact.credit_days or DEFAULT_PAYMENT_DAYS)
    fields.setdefault("currency_code", contact.currency_code)
    moment = now()
    invoice = SalesInvoice(
        business=business,
        number=_next_number(business),
        contact_name=contact.name,
        contact_reference=contact.reference,
        created_at=moment,
        updated_at=moment,
        **fields,
    )
    invoice.save()
    _save_lines(invoice, lines)
    invoice.outstanding_amount = invoice.total_amount
    invoice.save()
    _refresh_contact(contact)
    return invoice


@transaction.atomic
def update_invoice(*, invoice: SalesInvoice, body: dict) -> SalesInvoice:
    validator = Validator()
    if not invoice.editable:
        validator.error("", "The invoice cannot be edited: it is void or has payments allocated")
        validator.raise_if_any()
    fields = _read_header(invoice.business, body, validator, creating=False)
    lines = (
        _read_lines(invoice.business, body["invoice_lines"], validator) if "invoice_lines" in body else None
    )
    _check_dates(validator, fields, invoice)
    validator.raise_if_any()
    previous_contact = invoice.contact
    for name, value in fields.items():
        setattr(invoice, name, value)
    if "contact" in fields:
        invoice.contact_name, invoice.contact_reference = invoice.contact.name, invoice.contact.reference
    if lines is not None:
        _save_lines(invoice, lines)
        invoice.outstanding_amount = invoice.total_amount
    invoice.touch(now())
    invoice.save()
    _refresh_contact(invoice.contact)
    if previous_contact.pk != invoice.contact_id:
        _refresh_contact(previous_contact)
    return invoice


@transaction.atomic
def release_invoice(*, invoice: SalesInvoice) -> SalesInvoice:
    if invoice.status != SalesInvoice.DRAFT:
        validator = Validator()
        validator.error("", "Only a draft invoice can be released")
        validator.raise_if_any()
    invoice.status = SalesInvoice.UNPAID
    invoice.outstanding_amount = invoice.total_amount
    invoice.touch(now())
    invoice.save()
    _refresh_contact(invoice.contact)
    return invoice


@transaction.atomic
def void_or_delete_invoice(*, invoice: SalesInvoice, void_reason: str) -> SalesInvoice | None:
    """Sage: a draft is deleted outright; anything else is voided, which needs a reason and no payments."""
    moment = now()
    if invoice.status == SalesInvoice.DRAFT:
        invoice.deleted_at = invoice.updated_at = moment
        invoice.save(update_fields=["deleted_at", "updated_at"])
        return None
    validator = Validator()
    if invoice.status == SalesInvoice.VOID:
        validator.error("", "The invoice is already void")
    elif invoice.allocations.filter(payment__deleted_at__isnull=True).exists():
        validator.error("", "The invoice cannot be voided because payments are allocated to it")
    elif not void_reason.strip():
        validator.error("void_reason", "void_reason is missing")
    else:
        validator.max_lengths({"void_reason": void_reason.strip()}, {"void_reason": VOID_REASON_LIMIT})
    validator.raise_if_any()
    invoice.status = SalesInvoice.VOID
    invoice.void_reason = void_reason.strip()
    invoice.outstanding_amount = ZERO
    invoice.touch(moment)
    invoice.save()
    _refresh_contact(invoice.contact)
    return invoice


def _refresh_contact(contact: Contact) -> None:
    contact.refresh_balance()
    contact.save(update_fields=["balance"])


# --- views -------------------------------------------------------------------------------------------


def _search(invoices, search: str):
    # Sage: "filter by the invoice reference or contact name"; the invoice number is matched too (Choice).
    matches = Q(reference__icontains=search) | Q(contact_name__icontains=search)
    number = re.fullmatch(r"(?:[A-Za-z]+-?)?(\d+)", search)
    if number:
        matches |= Q(number=int(number.group(1)))
    return invoices.filter(matches)


def list_invoices(request):
    invoices = filter_changes(request, SalesInvoice.objects.filter(business=request.business))
    if request.GET.get("contact_id"):
        invoices = invoices.filter(contact_id=request.GET["contact_id"])
    if request.GET.get("status_id"):
        invoices = invoices.filter(status=request.GET["status_id"].strip().upper())
    from_date, to_date = date_param(request, "from_date"), date_param(request, "to_date")
    if from_date:
        invoices = invoices.filter(date__gte=from_date)
    if to_date:
        invoices = invoices.filter(date__lte=to_date)
    if request.GET.get("search", "").strip():
        invoices = _search(invoices, request.GET["search"].strip())
    invoices = apply_sort(request, _with_details(invoices), allowed=SORTS, default=["created_at", "id"])
    show_allocations = request.GET.get("show_payments_allocations") == "true"
    return paginate(
        request,
        invoices,
        path="/sales_invoices",
        serialize=lambda invoice: serialize_invoice(invoice, show_payments_allocations=show_allocations),
    )


def _detail_answer(request, invoice: SalesInvoice, status: int = 200) -> JsonResponse:
    invoice = _with_details(SalesInvoice.objects.filter(pk=invoice.pk)).get()
    show_allocations = request.GET.get("show_payments_allocations") == "true"
    return JsonResponse(serialize_invoice(invoice, show_payments_allocations=show_allocations), status=status)


@accounting_endpoint
def sales_invoices_collection(request):
    if request.method in ("GET", "HEAD"):
        return list_invoices(request)
    if request.method == "POST":
        invoice = create_invoice(business=request.business, body=wrapped_body(request, "sales_invoice"))
        return _detail_answer(request, invoice, status=201)
    return method_not_allowed(request)


@accounting_endpoint
def sales_invoice_detail(request, key: str):
    invoice = get_alive(SalesInvoice.objects.filter(business=request.business), key)
    if request.method in ("GET", "HEAD"):
        return _detail_answer(request, invoice)
    if request.method == "PUT":
        invoice = update_invoice(invoice=invoice, body=wrapped_body(request, "sales_invoice"))
        return _detail_answer(request, invoice)
    if request.method == "DELETE":
        voided = void_or_delete_invoice(invoice=invoice, void_reason=request.GET.get("void_reason", ""))
        # Sage's description answers a void with the voided invoice; a deleted draft has nothing to show.
        return _detail_answer(request, voided) if voided else HttpResponse(status=204)
    return method_not_allowed(request)


@accounting_endpoint
def sales_invoice_release(request, key: str):
    if request.method != "POST":
        return method_not_allowed(request)
    invoice = get_alive(SalesInvoice.objects.filter(business=request.business), key)
    return _detail_answer(request, release_invoice(invoice=invoice), status=201)
