"""Ids that point at other resources, wherever those live: the hand-written models, Sage's fixed code lists, or
the generic table. One place answers "does this id exist for this business?" with the link Sage nests in the
answer (`{"id", "displayed_as", "$path"}`)."""

import contextlib
import contextvars

from sandbox.models import (
    BankAccount,
    Business,
    Contact,
    ContactPayment,
    GenericRecord,
    LedgerAccount,
    SalesInvoice,
    TaxRate,
)
from sandbox.resources.reference_data import (
    ARTEFACT_STATUSES,
    CONTACT_TYPES,
    PAYMENT_METHODS,
    TRANSACTION_TYPES,
)

from . import catalogue
from .reference_lists import ensure_reference_list

HAND_WRITTEN_MODELS = {
    "contacts": Contact,
    "sales_invoices": SalesInvoice,
    "contact_payments": ContactPayment,
    "ledger_accounts": LedgerAccount,
    "bank_accounts": BankAccount,
}
CODE_LISTS = {
    "payment_methods": PAYMENT_METHODS,
    "transaction_types": TRANSACTION_TYPES,
    "contact_types": CONTACT_TYPES,
    "artefact_statuses": ARTEFACT_STATUSES,
}


# Within `remembered()` (the demo seed), answers found are kept: the seed asks for the same ids hundreds of times.
_memory: contextvars.ContextVar[dict | None] = contextvars.ContextVar(
    "sandbox_reference_memory", default=None
)


@contextlib.contextmanager
def remembered():
    token = _memory.set({})
    try:
        yield
    finally:
        _memory.reset(token)


def remember_record(record: GenericRecord) -> None:
    """Within `remembered()`: a record built but not saved yet counts as there (the seed saves in one go)."""
    memory = _memory.get()
    if memory is not None:
        memory.setdefault(("first", record.business_id, record.resource, None), record.key)
        memory[("link", record.business_id, record.resource, record.key)] = record.as_link()


def _remember(kind: str, business: Business, collection: str, key: str | None, find):
    memory = _memory.get()
    if memory is None:
        return find()
    slot = (kind, business.id, collection, key)
    if slot not in memory:
        found = find()
        if found is None:  # not there yet; it may be created later in the same run
            return None
        memory[slot] = found
    return memory[slot]


def _code_link(collection: str, key: str, name: str) -> dict:
    return {"id": key, "displayed_as": name, "$path": f"/{collection}/{key}"}


def _generic_records(business: Business, collection: str):
    ensure_reference_list(business=business, resource=collection)
    return GenericRecord.objects.filter(business=business, resource=collection).alive()


def find_link(*, business: Business, collection: str, key: str) -> dict | None:
    """The link to a live record of `collection` with this id, or None when there is none."""
    return _remember("link", business, collection, key, lambda: _find_link(business, collection, key))


def first_key(*, business: Business, collection: str) -> str | None:
    """Some live id of `collection` for this business (what a sample body refers to), or None."""
    return _remember("first", business, collection, None, lambda: _first_key(business, collection))


def _find_link(business: Business, collection: str, key: str) -> dict | None:
    if collection in CODE_LISTS:
        names = CODE_LISTS[collection]
        return _code_link(collection, key, names[key]) if key in names else None
    if collection == "tax_rates":
        rate = TaxRate.objects.filter(business=business, key=key).first()
        return rate.as_link() if rate else None
    if collection in HAND_WRITTEN_MODELS:
        queryset = HAND_WRITTEN_MODELS[collection].objects.filter(business=business).alive()
        if collection == "bank_accounts":
            queryset = queryset.select_related("ledger_account")
        record = queryset.filter(id=key).first()
        return record.as_link() if record else None
    if catalogue.is_generic(collection):
        record = _generic_records(business, collection).filter(key=key).first()
        return record.as_link() if record else None
    return None


def _first_key(business: Business, collection: str) -> str | None:
    if collection in CODE_LISTS:
        return next(iter(CODE_LISTS[collection]))
    if collection == "tax_rates":
        return TaxRate.objects.filter(business=business).order_by("key").values_list("key", flat=True).first()
    if collection in HAND_WRITTEN_MODELS:
        queryset = HAND_WRITTEN_MODELS[collection].objects.filter(business=business).alive()
        return queryset.order_by("created_at", "id").values_list("id", flat=True).first()
    if catalogue.is_generic(collection):
        return (
            _generic_records(business, collection)
            .order_by("created_at", "id")
            .values_list("key", flat=True)
            .first()
        )
    return None
