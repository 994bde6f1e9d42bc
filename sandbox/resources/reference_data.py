"""Lists a client needs to fill ids: ledger accounts, bank accounts, tax rates (their writes are in books.py)
and Sage's fixed code lists (payment methods, transaction types, contact types, artefact statuses)."""

from dataclasses import dataclass

from django.db.models import Q
from django.http import JsonResponse

from sandbox.collections import paginate
from sandbox.models.accounting import BankAccount, ContactPayment, LedgerAccount, SalesInvoice, TaxRate

from .common import (
    accounting_endpoint,
    apply_sort,
    code_link,
    filter_changes,
    money,
    not_found,
    timestamps,
)

PAYMENT_METHODS = {
    "BANK_TRANSFER": "Bank Transfer",
    "CASH": "Cash",
    "CHECK": "Cheque",
    "CREDIT_DEBIT": "Credit/Debit Card",
    "ALTERNATIVE_PAYMENT": "Alternative Payment",
}
TRANSACTION_TYPES = {"SALES_INVOICE": "Sales Invoice", **ContactPayment.TRANSACTION_TYPES}
CONTACT_TYPES = {"CUSTOMER": "Customer", "VENDOR": "Supplier"}
ARTEFACT_STATUSES = SalesInvoice.STATUS_NAMES
LEDGER_ACCOUNT_TYPES = {
    "SALES": "Sales",
    "OTHER_INCOME": "Other Income",
    "DIRECT_EXPENSES": "Direct Expenses",
    "OVERHEADS": "Overheads",
    "CURRENT_ASSETS": "Current Assets",
    "BANK": "Bank",
    "CURRENT_LIABILITY": "Current Liabilities",
}
BANK_ACCOUNT_TYPES = {
    "CHECKING": "Current",
    "SAVINGS": "Savings",
    "CREDIT_CARD": "Credit Card",
    "CASH_IN_HAND": "Cash in Hand",
}


@dataclass(frozen=True)
class Code:
    """One entry of a fixed Sage list, shaped like `definitions.Base`."""

    collection: str
    sage_id: str
    displayed_as: str

    @property
    def api_path(self) -> str:
        return f"/{self.collection}/{self.sage_id}"


def _serialize_code(code: Code) -> dict:
    return {"id": code.sage_id, "displayed_as": code.displayed_as, "$path": code.api_path}


def _code_views(collection: str, names: dict[str, str]):
    codes = [Code(collection, key, name) for key, name in names.items()]

    @accounting_endpoint(methods=("GET",))
    def code_list(request):
        return paginate(request, codes, path=f"/{collection}", serialize=_serialize_code)

    @accounting_endpoint(methods=("GET",))
    def code_detail(request, key: str):
        if key not in names:
            raise not_found()
        return JsonResponse(_serialize_code(Code(collection, key, names[key])))

    return code_list, code_detail


payment_methods_collection, payment_method_detail = _code_views("payment_methods", PAYMENT_METHODS)
transaction_types_collection, transaction_type_detail = _code_views("transaction_types", TRANSACTION_TYPES)
contact_types_collection, contact_type_detail = _code_views("contact_types", CONTACT_TYPES)
artefact_statuses_collection, artefact_status_detail = _code_views("artefact_statuses", ARTEFACT_STATUSES)


# --- tax rates ---------------------------------------------------------------------------------------


def serialize_tax_rate(rate: TaxRate) -> dict:
    return {
        "id": rate.key,
        "displayed_as": rate.displayed_as,
        "$path": rate.api_path,
        **timestamps(rate),
        "name": rate.name,
        "percentage": money(rate.percentage),
        "is_visible": rate.is_visible,
        "retailer": False,
        "editable": False,
        "deletable": False,
        "is_combined_rate": False,
    }


def list_tax_rates(request):
    """GET /tax_rates (the view, with the writes, is in books.py)."""
    rates = TaxRate.objects.filter(business=request.business).order_by("-percentage", "key")
    return paginate(request, rates, path="/tax_rates", serialize=serialize_tax_rate)


# --- ledger accounts ---------------------------------------------------------------------------------

VISIBILITY_FIELDS = {
    "sales": "visible_in_sales",
    "expenses": "visible_in_expenses",
    "banking": "visible_in_banking",
}


def serialize_ledger_account(ledger: LedgerAccount) -> dict:
    return {
        "id": ledger.id,
        "displayed_as": ledger.displayed_as,
        "$path": ledger.api_path,
        **timestamps(ledger),
        "name": ledger.name,
        "display_name": ledger.name,
        "nominal_code": ledger.nominal_code,
        "ledger_account_type": code_link(
            "ledger_account_types",
            ledger.ledger_account_type,
            LEDGER_ACCOUNT_TYPES.get(ledger.ledger_account_type, ledger.ledger_account_type),
        ),
        "tax_rate": ledger.tax_rate.as_link() if ledger.tax_rate else None,
        "included_in_chart": True,
        "visible_scopes": [scope for scope, field in VISIBILITY_FIELDS.items() if getattr(ledger, field)],
        "visible_in_sales": ledger.visible_in_sales,
        "visible_in_expenses": ledger.visible_in_expenses,
        "visible_in_banking": ledger.visible_in_banking,
        "is_control_account": False,
        "display_formatted": ledger.displayed_as,
    }


def list_ledger_accounts(request):
    """GET /ledger_accounts (the view, with the writes, is in books.py)."""
    ledgers = filter_changes(request, LedgerAccount.objects.filter(business=request.business)).select_related(
        "tax_rate"
    )
    visible_in = request.GET.get("visible_in", "").strip()
    if visible_in:
        field = VISIBILITY_FIELDS.get(visible_in)
        ledgers = ledgers.filter(**{field: True}) if field else ledgers.none()
    if request.GET.get("ledger_account_type_id"):
        ledgers = ledgers.filter(ledger_account_type=request.GET["ledger_account_type_id"])
    if request.GET.get("search", "").strip():
        term = request.GET["search"].strip()
        matches = Q(name__icontains=term) | (Q(nominal_code=int(term)) if term.isdigit() else Q(pk__in=[]))
        ledgers = ledgers.filter(matches)
    ledgers = apply_sort(
        request,
        ledgers,
        allowed={"nominal_code": "nominal_code", "name": "name"},
        default=["nominal_code", "id"],
    )
    return paginate(request, ledgers, path="/ledger_accounts", serialize=serialize_ledger_account)


# --- bank accounts -----------------------------------------------------------------------------------


def serialize_bank_account(account: BankAccount) -> dict:
    method = account.default_payment_method
    return {
        "id": account.id,
        "displayed_as": account.displayed_as,
        "$path": account.api_path,
        **timestamps(account),
        "bank_account_details": {
            "account_name": account.account_name,
            "account_number": account.account_number,
            "sort_code": account.sort_code,
        },
        "ledger_account": account.ledger_account.as_link(),
        "bank_account_type": code_link(
            "bank_account_types",
            account.bank_account_type,
            BANK_ACCOUNT_TYPES.get(account.bank_account_type, account.bank_account_type),
        ),
        "balance": money(account.balance),
        "nominal_code": account.ledger_account.nominal_code,
        "editable": True,
        "deletable": False,
        "default_payment_method": code_link("payment_methods", method, PAYMENT_METHODS[method])
        if method
        else None,
    }


def list_bank_accounts(request):
    """GET /bank_accounts (the view, with the writes, is in books.py)."""
    accounts = filter_changes(request, BankAccount.objects.filter(business=request.business)).select_related(
        "ledger_account"
    )
    accounts = apply_sort(
        request,
        accounts,
        allowed={"created_at": "created_at"},
        default=["ledger_account__nominal_code", "id"],
    )
    return paginate(request, accounts, path="/bank_accounts", serialize=serialize_bank_account)
