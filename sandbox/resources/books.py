"""Writes to a business's books as Sage describes them: create and update ledger accounts, create, update and
delete bank accounts and tax rates. (Their lists and single reads are in reference_data.py.)

Bodies are first checked against the catalogue of Sage's description (types, maxLengths, required fields, ids of
the right resource — sandbox/generic/validation.py); the rules below are the books' own: nominal codes unique per
business, a bank account always on a bank ledger account, nothing in use deleted.
"""

import uuid

from django.db import transaction
from django.http import HttpResponse, JsonResponse

from sandbox.amounts import InvalidAmount, round_money, to_decimal
from sandbox.generic.catalogue import resource as described_resource
from sandbox.generic.validation import validate_body
from sandbox.models.accounting import BankAccount, LedgerAccount, SalesInvoiceLine, TaxRate

from . import reference_data
from .common import SageValidationErrors, accounting_endpoint, get_alive, not_found, now, wrapped_body

VISIBILITY_FLAGS = ("visible_in_sales", "visible_in_expenses", "visible_in_banking")
FIRST_BANK_NOMINAL_CODE = 1200


def _invalid(source: str, message: str) -> SageValidationErrors:
    return SageValidationErrors(
        [{"$severity": "error", "$dataCode": "RecordInvalid", "$message": message, "$source": source}]
    )


def _checked(business, resource: str, kind: str, body: dict) -> dict:
    validate_body(
        business=business, schema=described_resource(resource)[kind], body=body, partial=kind == "update"
    )
    return body


def _nominal_code_free(business, code: int, *, exclude: str | None = None) -> None:
    taken = LedgerAccount.objects.alive().filter(business=business, nominal_code=code).exclude(id=exclude)
    if taken.exists():
        raise _invalid("nominal_code", f"nominal_code {code} has already been taken")


# --- ledger accounts ---------------------------------------------------------------------------------------


def _apply_ledger_fields(business, ledger: LedgerAccount, body: dict) -> None:
    if body.get("name"):
        ledger.name = body["name"]
    if body.get("nominal_code") is not None:
        _nominal_code_free(business, body["nominal_code"], exclude=ledger.id)
        ledger.nominal_code = body["nominal_code"]
    if body.get("ledger_account_type_id"):
        ledger.ledger_account_type = body["ledger_account_type_id"]
    if "tax_rate_id" in body:
        ledger.tax_rate = TaxRate.objects.filter(business=business, key=body["tax_rate_id"]).first()
    for flag in VISIBILITY_FLAGS:
        if body.get(flag) is not None:
            setattr(ledger, flag, body[flag])


@transaction.atomic
def create_ledger_account(*, business, body: dict) -> LedgerAccount:
    _checked(business, "ledger_accounts", "create", body)
    moment = now()
    ledger = LedgerAccount(business=business, created_at=moment, updated_at=moment)
    _apply_ledger_fields(business, ledger, body)
    ledger.save()
    return ledger


@transaction.atomic
def _update(record, *, resource: str, body: dict, apply_fields):
    """An update of a ledger or bank account: checked against the description, then the resource's own rules."""
    _checked(record.business, resource, "update", body)
    apply_fields(record.business, record, body)
    record.touch(now())
    record.save()
    return record


def update_ledger_account(*, ledger: LedgerAccount, body: dict) -> LedgerAccount:
    return _update(ledger, resource="ledger_accounts", body=body, apply_fields=_apply_ledger_fields)


def _ledger(request, key: str) -> LedgerAccount:
    return get_alive(LedgerAccount.objects.filter(business=request.business).select_related("tax_rate"), key)


@accounting_endpoint(methods=("GET", "POST"))
def ledger_accounts_collection(request):
    if request.method == "POST":
        ledger = create_ledger_account(
            business=request.business, body=wrapped_body(request, "ledger_account")
        )
        return JsonResponse(reference_data.serialize_ledger_account(_ledger(request, ledger.id)), status=201)
    return reference_data.list_ledger_accounts(request)


@accounting_endpoint(methods=("GET", "PUT"))
def ledger_account_detail(request, key: str):
    ledger = _ledger(request, key)
    if request.method == "PUT":
        update_ledger_account(ledger=ledger, body=wrapped_body(request, "ledger_account"))
        ledger = _ledger(request, key)
    return JsonResponse(reference_data.serialize_ledger_account(ledger))


# --- bank accounts -----------------------------------------------------------------------------------------


def _new_bank_ledger(business, body: dict, name: str) -> LedgerAccount:
    """Sage opens a bank ledger account for each new bank account (nominal_code given, or the next free one)."""
    code = body.get("nominal_code")
    if code is not None:
        _nominal_code_free(business, code)
    else:
        used = set(
            LedgerAccount.objects.alive().filter(business=business).values_list("nominal_code", flat=True)
        )
        code = next(candidate for candidate in range(FIRST_BANK_NOMINAL_CODE, 10**6) if candidate not in used)
    moment = now()
    return LedgerAccount.objects.create(
        business=business,
        nominal_code=code,
        name=name,
        ledger_account_type="BANK",
        visible_in_banking=True,
        created_at=moment,
        updated_at=moment,
    )


def _apply_bank_fields(business, account: BankAccount, body: dict) -> None:
    details = body.get("bank_account_details") or {}
    for field in ("account_name", "account_number", "sort_code"):
        if details.get(field) is not None:
            setattr(account, field, details[field])
    if body.get("bank_account_type_id"):
        account.bank_account_type = body["bank_account_type_id"]
    if "default_payment_method_id" in body:
        account.default_payment_method = body["default_payment_method_id"] or ""
    if body.get("ledger_account_id"):
        account.ledger_account = LedgerAccount.objects.get(business=business, id=body["ledger_account_id"])


@transaction.atomic
def create_bank_account(*, business, body: dict) -> BankAccount:
    _checked(business, "bank_accounts", "create", body)
    moment = now()
    account = BankAccount(business=business, created_at=moment, updated_at=moment)
    _apply_bank_fields(business, account, body)
    if not account.account_name:
        count = BankAccount.objects.filter(business=business).count()
        account.account_name = f"Bank Account {count + 1}"
    if not body.get("ledger_account_id"):
        account.ledger_account = _new_bank_ledger(business, body, account.account_name)
    account.save()
    return account


def update_bank_account(*, account: BankAccount, body: dict) -> BankAccount:
    return _update(account, resource="bank_accounts", body=body, apply_fields=_apply_bank_fields)


@transaction.atomic
def delete_bank_account(*, account: BankAccount) -> None:
    """Only a bank account without payments can go (Sage keeps the ones with transactions)."""
    if account.payments.alive().exists():
        raise _invalid("", "The bank account has transactions and cannot be deleted")
    account.deleted_at = account.updated_at = now()
    account.save(update_fields=["deleted_at", "updated_at"])


def _bank_account(request, key: str) -> BankAccount:
    return get_alive(
        BankAccount.objects.filter(business=request.business).select_related("ledger_account"), key
    )


@accounting_endpoint(methods=("GET", "POST"))
def bank_accounts_collection(request):
    if request.method == "POST":
        account = create_bank_account(business=request.business, body=wrapped_body(request, "bank_account"))
        return JsonResponse(
            reference_data.serialize_bank_account(_bank_account(request, account.id)), status=201
        )
    return reference_data.list_bank_accounts(request)


@accounting_endpoint(methods=("GET", "PUT", "DELETE"))
def bank_account_detail(request, key: str):
    account = _bank_account(request, key)
    if request.method == "DELETE":
        delete_bank_account(account=account)
        return HttpResponse(status=204)
    if request.method == "PUT":
        update_bank_account(account=account, body=wrapped_body(request, "bank_account"))
        account = _bank_account(request, key)
    return JsonResponse(reference_data.serialize_bank_account(account))


# --- tax rates ---------------------------------------------------------------------------------------------


def _apply_tax_rate_fields(rate: TaxRate, body: dict) -> None:
    if body.get("name"):
        rate.name = body["name"]
    if body.get("is_visible") is not None:
        rate.is_visible = body["is_visible"]
    # `percentage` is in Sage's update body; a create may send it too (Sage's create describes component rates).
    if body.get("percentage") is not None:
        try:
            rate.percentage = round_money(to_decimal(body["percentage"]))
        except InvalidAmount:
            raise _invalid("percentage", "percentage is not a valid number") from None


@transaction.atomic
def create_tax_rate(*, business, body: dict) -> TaxRate:
    _checked(business, "tax_rates", "create", body)
    moment = now()
    rate = TaxRate(
        business=business, key=uuid.uuid4().hex, percentage=0, created_at=moment, updated_at=moment
    )
    _apply_tax_rate_fields(rate, body)
    rate.save()
    return rate


@transaction.atomic
def update_tax_rate(*, rate: TaxRate, body: dict) -> TaxRate:
    _checked(rate.business, "tax_rates", "update", body)
    _apply_tax_rate_fields(rate, body)
    rate.updated_at = now()
    rate.save()
    return rate


def delete_tax_rate(*, rate: TaxRate) -> None:
    """A rate used on an invoice line stays (422); an unused one is removed (ledgers using it lose it)."""
    if SalesInvoiceLine.objects.filter(tax_rate=rate).exists():
        raise _invalid("", "The tax rate is used by transactions and cannot be deleted")
    rate.delete()


def _tax_rate(request, key: str) -> TaxRate:
    rate = TaxRate.objects.filter(business=request.business, key=key).first()
    if rate is None:
        raise not_found()
    return rate


@accounting_endpoint(methods=("GET", "POST"))
def tax_rates_collection(request):
    if request.method == "POST":
        rate = create_tax_rate(business=request.business, body=wrapped_body(request, "tax_rate"))
        return JsonResponse(reference_data.serialize_tax_rate(rate), status=201)
    return reference_data.list_tax_rates(request)


@accounting_endpoint(methods=("GET", "PUT", "DELETE"))
def tax_rate_detail(request, key: str):
    rate = _tax_rate(request, key)
    if request.method == "DELETE":
        delete_tax_rate(rate=rate)
        return HttpResponse(status=204)
    if request.method == "PUT":
        rate = update_tax_rate(rate=rate, body=wrapped_body(request, "tax_rate"))
    return JsonResponse(reference_data.serialize_tax_rate(rate))
