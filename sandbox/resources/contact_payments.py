"""/contact_payments: list, get, create (with allocations to sales invoices), update, delete."""

from collections import defaultdict
from decimal import Decimal

from django.db import transaction
from django.http import HttpResponse, JsonResponse

from sandbox.amounts import ZERO, round_money
from sandbox.collections import paginate
from sandbox.models.accounting import BankAccount, Contact, ContactPayment, PaymentAllocation, SalesInvoice

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
from .reference_data import PAYMENT_METHODS

# Sage's maxLengths for the fields of a payment body (definitions.ContactPayment); the fidelity tests hold this
# table to the description.
PAYMENT_LIMITS = {"reference": 25}

SORTS = {"created_at": "created_at", "updated_at": "updated_at", "date": "date"}
# Money in: allocations go against sales invoices. The other types are accepted without allocations, since
# the sandbox keeps no purchase invoices or credit notes to allocate them to.
ALLOCATABLE_TYPES = ("CUSTOMER_RECEIPT",)
# Money to or from a customer needs a customer contact, to or from a supplier a supplier (as Sage's screens do).
CUSTOMER_TYPES = ("CUSTOMER_RECEIPT", "CUSTOMER_REFUND")
VENDOR_TYPES = ("VENDOR_PAYMENT", "VENDOR_REFUND")


# --- representation ----------------------------------------------------------------------------------


def serialize_payment(payment: ContactPayment) -> dict:
    answer = {
        "id": payment.id,
        "displayed_as": payment.displayed_as,
        "$path": payment.api_path,
        **timestamps(payment),
        "transaction_type": code_link(
            "transaction_types",
            payment.transaction_type,
            ContactPayment.TRANSACTION_TYPES[payment.transaction_type],
        ),
        "payment_method": (
            code_link("payment_methods", payment.payment_method, PAYMENT_METHODS[payment.payment_method])
            if payment.payment_method
            else None
        ),
        "contact": payment.contact.as_link(),
        "bank_account": payment.bank_account.as_link(),
        "date": format_date(payment.date),
        "net_amount": money(payment.total_amount),
        "tax_amount": money(ZERO),
        "total_amount": money(payment.total_amount),
        "currency": currency_link(payment.currency_code),
        "exchange_rate": money(Decimal(1)),
        "reference": payment.reference,
        "allocated_artefacts": [
            {
                "id": allocation.id,
                "artefact": allocation.invoice.as_link(),
                "amount": money(allocation.amount),
                "discount": money(allocation.discount),
            }
            for allocation in payment.allocations.all()
        ],
        "payment_on_account": None,
        "editable": True,
    }
    if payment.unallocated_amount > 0:
        answer["payment_on_account"] = {
            "id": payment.id,
            "displayed_as": "Payment on Account",
            "contact": payment.contact.as_link(),
            "date": format_date(payment.date),
            "reference": payment.reference,
            "total_amount": money(payment.unallocated_amount),
            "outstanding_amount": money(payment.unallocated_amount),
            "currency": currency_link(payment.currency_code),
        }
    return answer


def _with_details(queryset):
    return queryset.select_related("contact", "bank_account__ledger_account").prefetch_related(
        "allocations__invoice"
    )


# --- services ----------------------------------------------------------------------------------------


def _read_allocations(business, raw, contact, validator: Validator) -> list[tuple[SalesInvoice, Decimal]]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        validator.error("allocated_artefacts", "allocated_artefacts must be a list")
        return []
    invoice_ids = {item.get("artefact_id") for item in raw if isinstance(item, dict)}
    invoices = {
        invoice.id: invoice
        for invoice in SalesInvoice.objects.alive()
        .select_for_update()
        .filter(business=business, id__in=invoice_ids)
    }
    allocations = []
    allocated_per_invoice: dict[str, Decimal] = defaultdict(Decimal)
    for index, item in enumerate(raw):
        where = f"allocated_artefacts[{index}]"
        if not isinstance(item, dict):
            validator.error(where, "An allocated artefact must be an object")
            continue
        validator.require(item, "artefact_id", f"{where}.artefact_id")
        validator.require(item, "amount", f"{where}.amount")
        amount = validator.amount(item, "amount", f"{where}.amount")
        if amount is not None and amount <= 0:
            validator.error(f"{where}.amount", "The allocated amount must be greater than 0")
            amount = None
        invoice = invoices.get(item.get("artefact_id"))
        if item.get("artefact_id") and invoice is None:
            validator.error(f"{where}.artefact_id", "Couldn't find the artefact to allocate to")
            continue
        if invoice is None or amount is None:
            continue
        if contact is not None and invoice.contact_id != contact.id:
            validator.error(f"{where}.artefact_id", f"{invoice.invoice_number} belongs to another contact")
            continue
        if invoice.status not in SalesInvoice.OPEN_STATUSES:
            validator.error(
                f"{where}.artefact_id", f"{invoice.invoice_number} is {invoice.status} and cannot be paid"
            )
            continue
        allocated_per_invoice[invoice.id] += amount
        if allocated_per_invoice[invoice.id] > invoice.outstanding_amount:
            validator.error(
                f"{where}.amount",
                f"The allocated amount exceeds the outstanding amount of {invoice.invoice_number} "
                f"({money(invoice.outstanding_amount)})",
            )
            continue
        allocations.append((invoice, round_money(amount)))
    return allocations


@transaction.atomic
def create_payment(*, business, body: dict, payment: ContactPayment | None = None) -> ContactPayment:
    """A new payment from `body`, or (`payment` given, its allocations already given back) that one rewritten."""
    validator = Validator()
    validator.max_lengths(body, PAYMENT_LIMITS)
    for field in ("transaction_type_id", "contact_id", "bank_account_id", "date", "total_amount"):
        validator.require(body, field)
    transaction_type = body.get("transaction_type_id")
    if transaction_type and transaction_type not in ContactPayment.TRANSACTION_TYPES:
        validator.error("transaction_type_id", f"Unknown transaction type {transaction_type}")
    payment_method = body.get("payment_method_id") or ""
    if payment_method and payment_method not in PAYMENT_METHODS:
        validator.error("payment_method_id", f"Unknown payment method {payment_method}")
    contact = None
    if body.get("contact_id"):
        contact = Contact.objects.alive().filter(business=business, id=body["contact_id"]).first()
        if contact is None:
            validator.error("contact_id", "Couldn't find the contact")
        elif transaction_type in CUSTOMER_TYPES and not contact.is_customer:
            validator.error("contact_id", "The contact is not a customer")
        elif transaction_type in VENDOR_TYPES and not contact.is_vendor:
            validator.error("contact_id", "The contact is not a supplier")
    bank_account = None
    if body.get("bank_account_id"):
        bank_account = (
            BankAccount.objects.alive().filter(business=business, id=body["bank_account_id"]).first()
        )
        if bank_account is None:
            validator.error("bank_account_id", "Couldn't find the bank account")
    date = validator.date(body, "date")
    total = validator.amount(body, "total_amount")
    if total is not None and total <= 0:
        validator.error("total_amount", "total_amount must be greater than 0")
    raw_allocations = body.get("allocated_artefacts")
    if (
        raw_allocations
        and transaction_type in ContactPayment.TRANSACTION_TYPES
        and transaction_type not in ALLOCATABLE_TYPES
    ):
        validator.error(
            "allocated_artefacts", f"The sandbox allocates only {', '.join(ALLOCATABLE_TYPES)} payments"
        )
        raw_allocations = None
    allocations = _read_allocations(business, raw_allocations, contact, validator)
    allocated = sum((amount for _, amount in allocations), ZERO)
    if total is not None and total > 0 and allocated > total:
        validator.error("total_amount", "The allocated amounts exceed the total amount of the payment")
    validator.raise_if_any()

    moment = now()
    fields = dict(
        contact=contact,
        bank_account=bank_account,
        transaction_type=transaction_type,
        payment_method=payment_method,
        date=date,
        reference=str(body.get("reference") or ""),
        currency_code=str(body.get("currency_id") or contact.currency_code),
        total_amount=round_money(total),
        unallocated_amount=round_money(total - allocated) if transaction_type == "CUSTOMER_RECEIPT" else ZERO,
        updated_at=moment,
    )
    if payment is None:
        payment = ContactPayment.objects.create(business=business, created_at=moment, **fields)
    else:
        for field, value in fields.items():
            setattr(payment, field, value)
        payment.save()
    PaymentAllocation.objects.bulk_create(
        [
            PaymentAllocation(payment=payment, invoice=invoice, amount=amount)
            for invoice, amount in allocations
        ]
    )
    _refresh_invoices({invoice for invoice, _ in allocations}, moment)
    _apply_to_bank(bank_account, payment, sign=1)
    contact.refresh_balance()
    contact.save(update_fields=["balance"])
    return payment


@transaction.atomic
def update_payment(*, payment: ContactPayment, body: dict) -> ContactPayment:
    """PUT: the payment's own fields merged with the given ones, checked and applied as a create would be.

    Its allocations are given back to the invoices first (and re-made from the merged body), so changing an
    amount, the bank account or the allocations leaves invoices, contact and bank balances as if it had always
    been so; on a 422 nothing changes."""
    current = {
        "transaction_type_id": payment.transaction_type,
        "contact_id": payment.contact_id,
        "bank_account_id": payment.bank_account_id,
        "payment_method_id": payment.payment_method or None,
        "date": format_date(payment.date),
        "total_amount": str(payment.total_amount),
        "reference": payment.reference,
        "currency_id": payment.currency_code,
        "allocated_artefacts": [
            {"artefact_id": allocation.invoice_id, "amount": str(allocation.amount)}
            for allocation in payment.allocations.all()
        ],
    }
    old_contact = payment.contact
    invoices = {allocation.invoice for allocation in payment.allocations.select_related("invoice")}
    payment.allocations.all().delete()
    _refresh_invoices(invoices, now())
    _apply_to_bank(payment.bank_account, payment, sign=-1)
    payment = create_payment(business=payment.business, body={**current, **body}, payment=payment)
    old_contact.refresh_balance()
    old_contact.save(update_fields=["balance"])
    return payment


@transaction.atomic
def delete_payment(*, payment: ContactPayment) -> None:
    """Deleting a payment gives its allocations back to the invoices, as Sage does."""
    moment = now()
    payment.deleted_at = payment.updated_at = moment
    payment.save(update_fields=["deleted_at", "updated_at"])
    _refresh_invoices(
        {allocation.invoice for allocation in payment.allocations.select_related("invoice")}, moment
    )
    _apply_to_bank(payment.bank_account, payment, sign=-1)
    payment.contact.refresh_balance()
    payment.contact.save(update_fields=["balance"])


def _refresh_invoices(invoices, moment) -> None:
    for invoice in invoices:
        invoice.refresh_payment_state()
        invoice.touch(moment)
        invoice.save(update_fields=["outstanding_amount", "status", "last_paid", "updated_at"])


def _apply_to_bank(bank_account: BankAccount, payment: ContactPayment, *, sign: int) -> None:
    money_in = payment.transaction_type in ("CUSTOMER_RECEIPT", "VENDOR_REFUND")
    bank_account.balance += sign * (payment.total_amount if money_in else -payment.total_amount)
    bank_account.save(update_fields=["balance"])


# --- views -------------------------------------------------------------------------------------------


def _list(request):
    payments = filter_changes(request, ContactPayment.objects.filter(business=request.business))
    for parameter, field in (
        ("contact_id", "contact_id"),
        ("bank_account_id", "bank_account_id"),
        ("transaction_type_id", "transaction_type"),
    ):
        if request.GET.get(parameter):
            payments = payments.filter(**{field: request.GET[parameter]})
    from_date, to_date = date_param(request, "from_date"), date_param(request, "to_date")
    if from_date:
        payments = payments.filter(date__gte=from_date)
    if to_date:
        payments = payments.filter(date__lte=to_date)
    payments = apply_sort(request, _with_details(payments), allowed=SORTS, default=["created_at", "id"])
    return paginate(request, payments, path="/contact_payments", serialize=serialize_payment)


@accounting_endpoint
def contact_payments_collection(request):
    if request.method in ("GET", "HEAD"):
        return _list(request)
    if request.method == "POST":
        payment = create_payment(business=request.business, body=wrapped_body(request, "contact_payment"))
        payment = _with_details(ContactPayment.objects.filter(pk=payment.pk)).get()
        return JsonResponse(serialize_payment(payment), status=201)
    return method_not_allowed(request)


@accounting_endpoint
def contact_payment_detail(request, key: str):
    payment = get_alive(_with_details(ContactPayment.objects.filter(business=request.business)), key)
    if request.method in ("GET", "HEAD"):
        return JsonResponse(serialize_payment(payment))
    if request.method == "DELETE":
        delete_payment(payment=payment)
        return HttpResponse(status=204)
    if request.method == "PUT":
        update_payment(payment=payment, body=wrapped_body(request, "contact_payment"))
        payment = get_alive(_with_details(ContactPayment.objects.filter(business=request.business)), key)
        return JsonResponse(serialize_payment(payment))
    return method_not_allowed(request)
