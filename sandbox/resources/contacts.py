"""/contacts: list (filters, paging, attributes, sort), get, create, update, delete."""

import re

from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.http import HttpResponse, JsonResponse

from sandbox.amounts import currency_for_country
from sandbox.collections import paginate
from sandbox.models.accounting import Contact, ContactPayment, SalesInvoice
from sandbox.models.identity import COUNTRY_NAMES

from .common import (
    Validator,
    accounting_endpoint,
    apply_sort,
    code_link,
    currency_link,
    filter_changes,
    get_alive,
    method_not_allowed,
    money,
    now,
    timestamps,
    wrapped_body,
)
from .reference_data import CONTACT_TYPES

ADDRESS_FIELDS = ("address_line_1", "address_line_2", "city", "postal_code", "region", "country_id")
PERSON_FIELDS = ("name", "job_title", "telephone", "mobile", "email", "fax")
SORTS = {"created_at": "created_at", "updated_at": "updated_at", "name": "name", "reference": "reference"}

_ADDRESS_LIMITS = {
    "address_line_1": 50,
    "address_line_2": 50,
    "city": 50,
    "postal_code": 10,
    "name": 50,
    "region": 50,
}
# Sage's maxLengths for every field of a contact body (definitions.Contact, which the bodies of POST and PUT
# /contacts refer to); the fidelity tests hold this table to the description. `email` is not in Sage's body (it
# lives on the main contact person) but clients send it, and the sandbox reads it: Contact.email's limit.
CONTACT_LIMITS = {
    "name": 100,
    "reference": 10,
    "tax_number": 255,
    "notes": 4000,
    "locale": 10,
    "credit_terms_and_conditions": 2000,
    "source_guid": 255,
    "aux_reference": 4,
    "registered_number": 25,
    "auxiliary_account": 25,
    "email": 100,
    "main_address": _ADDRESS_LIMITS,
    "delivery_address": _ADDRESS_LIMITS,
    "main_contact_person": {
        "name": 50,
        "job_title": 50,
        "telephone": 50,
        "mobile": 50,
        "email": 100,
        "fax": 50,
    },
}
REFERENCE_LIMIT = CONTACT_LIMITS["reference"]


# --- representation ----------------------------------------------------------------------------------


def serialize_contact(contact: Contact) -> dict:
    address = contact.main_address or {}
    person = contact.main_contact_person or {}
    has_transactions = getattr(contact, "with_transactions", None)
    if has_transactions is None:
        has_transactions = contact.has_transactions
    main_address = {key: address.get(key, "") for key in ADDRESS_FIELDS if key != "country_id"}
    if address.get("country_id"):
        country = address["country_id"]
        main_address["country"] = code_link("countries", country, COUNTRY_NAMES.get(country, country))
    return {
        "id": contact.id,
        "displayed_as": contact.displayed_as,
        "$path": contact.api_path,
        **timestamps(contact),
        "contact_types": [
            code_link("contact_types", type_id, CONTACT_TYPES[type_id])
            for type_id in contact.contact_type_ids
        ],
        "name": contact.name,
        "reference": contact.reference,
        "tax_number": contact.tax_number,
        "notes": contact.notes,
        "locale": contact.locale,
        "main_address": main_address,
        "main_contact_person": {
            **{key: person.get(key, "") for key in PERSON_FIELDS},
            "is_main_contact": True,
        },
        "email": contact.email,
        "balance": money(contact.balance),
        "credit_limit": money(contact.credit_limit),
        "credit_days": contact.credit_days,
        "currency": currency_link(contact.currency_code),
        "deletable": not has_transactions,
        "system": False,
    }


def with_transaction_flags(queryset):
    """Annotate what `deletable` needs, so a page of 200 contacts costs one query, not 400."""
    return queryset.annotate(
        with_transactions=Exists(SalesInvoice.objects.alive().filter(contact=OuterRef("pk")))
        | Exists(ContactPayment.objects.alive().filter(contact=OuterRef("pk")))
    )


# --- services ----------------------------------------------------------------------------------------


def _read_contact_fields(body: dict, validator: Validator, *, creating: bool) -> dict:
    fields: dict = {}
    validator.max_lengths(body, CONTACT_LIMITS)
    if creating:
        validator.require(body, "name")
        validator.require(body, "contact_type_ids")
    if body.get("name"):
        fields["name"] = str(body["name"])
    if "contact_type_ids" in body:
        type_ids = body["contact_type_ids"]
        if not isinstance(type_ids, list) or not type_ids:
            if not creating or type_ids:
                validator.error("contact_type_ids", "contact_type_ids must be a non-empty list")
        elif any(type_id not in CONTACT_TYPES for type_id in type_ids):
            validator.error("contact_type_ids", "contact_type_ids must be CUSTOMER and/or VENDOR")
        else:
            fields["is_customer"] = "CUSTOMER" in type_ids
            fields["is_vendor"] = "VENDOR" in type_ids
    for text_field in ("reference", "notes", "tax_number", "locale"):
        if body.get(text_field) is not None:
            fields[text_field] = str(body[text_field])
    if body.get("currency_id"):
        fields["currency_code"] = str(body["currency_id"])
    if "credit_limit" in body:
        credit_limit = validator.amount(body, "credit_limit")
        if credit_limit is not None:
            fields["credit_limit"] = credit_limit
    if "credit_days" in body:
        if body["credit_days"] is not None and not isinstance(body["credit_days"], int):
            validator.error("credit_days", "credit_days must be an integer")
        else:
            fields["credit_days"] = body["credit_days"]
    if isinstance(body.get("main_address"), dict):
        fields["main_address"] = {
            key: body["main_address"][key] for key in ADDRESS_FIELDS if key in body["main_address"]
        }
    if isinstance(body.get("main_contact_person"), dict):
        fields["main_contact_person"] = {
            key: body["main_contact_person"][key]
            for key in PERSON_FIELDS
            if key in body["main_contact_person"]
        }
        if "email" in fields["main_contact_person"]:
            fields["email"] = str(fields["main_contact_person"]["email"] or "")
    # `email` is not in Sage's postContacts body (it lives on the main contact person), but clients send it.
    if body.get("email") is not None:
        fields["email"] = str(body["email"])
        fields.setdefault("main_contact_person", {})["email"] = fields["email"]
    return fields


def _generated_reference(business, name: str) -> str:
    """The name's letters and digits, made unique with a number, within Sage's 10 characters: ACMEWIDGET,
    ACMEWIDG01, … ACMEWID100 (the stem gives up a character whenever the number needs one more)."""
    stem = re.sub(r"[^A-Z0-9]", "", name.upper()) or "CONTACT"
    taken = set(
        Contact.objects.alive()
        .filter(business=business, reference__startswith=stem[:2])
        .values_list("reference", flat=True)
    )
    candidate = stem[:REFERENCE_LIMIT]
    suffix = 0
    while candidate in taken:
        suffix += 1
        number = f"{suffix:02d}"
        candidate = stem[: REFERENCE_LIMIT - len(number)] + number
    return candidate


def _check_reference_free(
    validator: Validator, business, reference: str, *, exclude_id: str | None = None
) -> None:
    clash = (
        Contact.objects.alive().filter(business=business, reference=reference).exclude(id=exclude_id or "")
    )
    if reference and clash.exists():
        validator.error("reference", "Reference has already been taken")


@transaction.atomic
def create_contact(*, business, body: dict) -> Contact:
    validator = Validator()
    fields = _read_contact_fields(body, validator, creating=True)
    validator.raise_if_any()
    if not fields.get("reference"):
        fields["reference"] = _generated_reference(business, fields["name"])
    _check_reference_free(validator, business, fields["reference"])
    validator.raise_if_any()
    fields.setdefault("currency_code", currency_for_country(business.country_code))
    moment = now()
    return Contact.objects.create(business=business, created_at=moment, updated_at=moment, **fields)


@transaction.atomic
def update_contact(*, contact: Contact, body: dict) -> Contact:
    validator = Validator()
    fields = _read_contact_fields(body, validator, creating=False)
    if fields.get("reference"):
        _check_reference_free(validator, contact.business, fields["reference"], exclude_id=contact.id)
    validator.raise_if_any()
    if "main_contact_person" in fields:
        fields["main_contact_person"] = {**contact.main_contact_person, **fields["main_contact_person"]}
    for name, value in fields.items():
        setattr(contact, name, value)
    contact.touch(now())
    contact.save()
    return contact


@transaction.atomic
def delete_contact(*, contact: Contact) -> None:
    if contact.has_transactions:
        validator = Validator()
        validator.error("", "The contact cannot be deleted because it has transactions")
        validator.raise_if_any()
    contact.deleted_at = contact.updated_at = now()
    contact.save(update_fields=["deleted_at", "updated_at"])


# --- views -------------------------------------------------------------------------------------------


def _list(request):
    contacts = filter_changes(request, Contact.objects.filter(business=request.business))
    search = request.GET.get("search", "").strip()
    if search:
        # Sage: "filter by the contact name, company name or reference" (not the email: that is `email`).
        contacts = contacts.filter(Q(name__icontains=search) | Q(reference__icontains=search))
    email = request.GET.get("email", "").strip()
    if email:
        contacts = contacts.filter(email__iexact=email)
    contact_type = request.GET.get("contact_type_id", "").strip().upper()
    if contact_type == "CUSTOMER":
        contacts = contacts.filter(is_customer=True)
    elif contact_type in ("VENDOR", "SUPPLIER"):
        contacts = contacts.filter(is_vendor=True)
    elif contact_type:
        contacts = contacts.none()
    contacts = apply_sort(
        request, with_transaction_flags(contacts), allowed=SORTS, default=["created_at", "id"]
    )
    return paginate(request, contacts, path="/contacts", serialize=serialize_contact)


@accounting_endpoint
def contacts_collection(request):
    if request.method in ("GET", "HEAD"):
        return _list(request)
    if request.method == "POST":
        contact = create_contact(business=request.business, body=wrapped_body(request, "contact"))
        return JsonResponse(serialize_contact(contact), status=201)
    return method_not_allowed(request)


@accounting_endpoint
def contact_detail(request, key: str):
    contact = get_alive(Contact.objects.filter(business=request.business), key)
    if request.method in ("GET", "HEAD"):
        return JsonResponse(serialize_contact(contact))
    if request.method == "PUT":
        contact = update_contact(contact=contact, body=wrapped_body(request, "contact"))
        return JsonResponse(serialize_contact(contact))
    if request.method == "DELETE":
        delete_contact(contact=contact)
        return HttpResponse(status=204)
    return method_not_allowed(request)
