"""Sage's read-only lists (countries, currencies, tax types, …) as the sandbox seeds them for each business.

Every collection of the description without a create is one of these. They are stored like any generic record and
seeded the first time a business touches the list (or when `sandbox_seed` runs), so the ids other records need —
`currency_id: "GBP"`, `country_id: "GB"`, `catalog_item_type_id: "STOCK_ITEM"` — exist. Entries are Sage's readable
codes where Sage uses them; lists of business data that the sandbox does not produce (ledger entries, transactions,
exchange rates, unallocated artefacts) get a few plausible entries so that reading one by key can be tried.
"""

import datetime as dt
import uuid

from django.db import transaction

from sandbox.models import Business, GenericRecord

from . import catalogue

SEED_MOMENT = dt.datetime(2025, 1, 1, 9, 0, tzinfo=dt.UTC)

CURRENCY_NAMES = {"GBP": "Pound Sterling", "EUR": "Euro", "USD": "US Dollar"}


def _currencies(code: str) -> dict:
    """An exchange rate's `currency` and `base_currency` links (rates are kept against GBP)."""
    return {
        field: {"id": key, "displayed_as": f"{CURRENCY_NAMES[key]} ({key})", "$path": f"/currencies/{key}"}
        for field, key in (("currency", code), ("base_currency", "GBP"))
    }


# resource → [(id, displayed_as, other fields)]; other fields are kept only when the definition has them.
LISTS: dict[str, list[tuple[str, str, dict]]] = {
    "countries": [
        ("GB", "United Kingdom (GB)", {}),
        ("IE", "Ireland (IE)", {}),
        ("US", "United States (US)", {}),
        ("CA", "Canada (CA)", {}),
        ("DE", "Germany (DE)", {}),
        ("ES", "Spain (ES)", {}),
        ("FR", "France (FR)", {}),
    ],
    "country_groups": [("EU", "European Union", {}), ("NONEU", "Outside the European Union", {})],
    "countries_of_registration": [
        ("GB-ENG", "England and Wales", {}),
        ("GB-SCT", "Scotland", {}),
        ("GB-NIR", "Northern Ireland", {}),
    ],
    "currencies": [
        ("GBP", "Pound Sterling (GBP)", {}),
        ("EUR", "Euro (EUR)", {}),
        ("USD", "US Dollar (USD)", {}),
        ("CAD", "Canadian Dollar (CAD)", {}),
    ],
    "exchange_rates": [
        ("EUR", "Euro (EUR)", {"rate": "1.170000", "inverse_rate": "0.854700", **_currencies("EUR")}),
        ("USD", "US Dollar (USD)", {"rate": "1.270000", "inverse_rate": "0.787400", **_currencies("USD")}),
    ],
    "live_exchange_rates": [
        ("EUR", "Euro (EUR)", {"rate": "1.168400", "inverse_rate": "0.855900", **_currencies("EUR")}),
        ("USD", "US Dollar (USD)", {"rate": "1.268900", "inverse_rate": "0.788100", **_currencies("USD")}),
    ],
    "address_types": [
        ("DELIVERY", "Delivery", {}),
        ("ACCOUNTS", "Accounts", {}),
        ("SALES", "Sales", {}),
        ("PURCHASING", "Purchasing", {}),
    ],
    "address_regions": [
        ("TX", "Texas", {"code": "TX"}),
        ("CA", "California", {"code": "CA"}),
        ("NY", "New York", {"code": "NY"}),
        ("ON", "Ontario", {"code": "ON"}),
    ],
    "contact_person_types": [
        ("ACCOUNTS", "Accounts", {}),
        ("SALES", "Sales", {}),
        ("PURCHASING", "Purchasing", {}),
    ],
    "bank_account_types": [
        ("CHECKING", "Current", {}),
        ("SAVINGS", "Savings", {}),
        ("CREDIT_CARD", "Credit Card", {}),
        ("CASH_IN_HAND", "Cash in Hand", {}),
        ("LOAN", "Loan", {}),
        ("OTHER", "Other", {}),
    ],
    "ledger_account_types": [
        ("SALES", "Sales", {}),
        ("OTHER_INCOME", "Other Income", {}),
        ("DIRECT_EXPENSES", "Direct Expenses", {}),
        ("OVERHEADS", "Overheads", {}),
        ("DEPRECIATION", "Depreciation", {}),
        ("CURRENT_ASSETS", "Current Assets", {}),
        ("FIXED_ASSETS", "Fixed Assets", {}),
        ("BANK", "Bank", {}),
        ("CURRENT_LIABILITY", "Current Liabilities", {}),
        ("FUTURE_LIABILITY", "Future Liabilities", {}),
        ("EQUITY", "Equity", {}),
    ],
    "ledger_account_classifications": [
        ("DEBTORS", "Debtors", {}),
        ("CREDITORS", "Creditors", {}),
        ("VAT", "VAT", {}),
    ],
    "journal_code_types": [
        ("SALES", "Sales", {}),
        ("PURCHASES", "Purchases", {}),
        ("BANK", "Bank", {}),
        ("OTHER", "Other", {}),
    ],
    "attachment_context_types": [
        ("SALES_INVOICE", "Sales Invoice", {}),
        ("PURCHASE_INVOICE", "Purchase Invoice", {}),
        ("CONTACT", "Contact", {}),
        ("BANK_TRANSFER", "Bank Transfer", {}),
        ("JOURNAL", "Journal", {}),
    ],
    "corrective_reason_codes": [
        ("R1", "Error fundado en derecho y art. 80 Uno, Dos y Seis LIVA", {}),
        ("R2", "Artículo 80 Tres LIVA", {}),
        ("R3", "Artículo 80 Cuatro LIVA", {}),
        ("R4", "Resto", {}),
    ],
    "quick_entry_types": [("INVOICE", "Invoice", {}), ("CREDIT_NOTE", "Credit Note", {})],
    "contact_opening_balance_types": [("INVOICE", "Invoice", {}), ("CREDIT_NOTE", "Credit Note", {})],
    "eu_goods_services_types": [("GOODS", "Goods", {}), ("SERVICES", "Services", {})],
    "eu_sales_descriptions": [
        ("GOODS_SUPPLY", "Supply of goods", {}),
        ("TRIANGULATION", "Triangulation", {}),
        ("SERVICES", "Supply of services", {}),
    ],
    "catalog_item_types": [
        ("STOCK_ITEM", "Stock", {}),
        ("NON_STOCK_ITEM", "Non-stock", {}),
        ("SERVICE", "Service", {}),
    ],
    "business_activity_types": [
        ("RETAIL", "Retail", {}),
        ("SERVICES", "Services", {}),
        ("MANUFACTURING", "Manufacturing", {}),
    ],
    "business_types": [
        ("SOLE_TRADER", "Sole Trader", {}),
        ("PARTNERSHIP", "Partnership", {}),
        ("LIMITED_COMPANY", "Limited Company", {}),
    ],
    "legal_form_types": [("LTD", "Limited company", {}), ("PLC", "Public limited company", {})],
    "tax_offices": [("HMRC", "HM Revenue & Customs", {}), ("REVENUE", "Revenue Commissioners", {})],
    "tax_return_frequencies": [
        ("MONTHLY", "Monthly", {}),
        ("QUARTERLY", "Quarterly", {}),
        ("ANNUALLY", "Annually", {}),
    ],
    "tax_schemes": [
        ("STANDARD", "Standard", {}),
        ("CASH_BASED", "Cash Based", {}),
        ("FLAT_RATE_INVOICE", "Flat Rate (Invoice Based)", {}),
    ],
    "tax_types": [
        ("GB_VAT", "UK VAT", {}),
        ("IE_VAT", "Irish VAT", {}),
        ("US_SALES_TAX", "US Sales Tax", {}),
    ],
    "tax_profiles": [("VAT", "VAT", {"collect_tax": True, "tax_number": "GB123456789"})],
    "coa_templates": [("UK_STANDARD", "UK Standard", {}), ("IE_STANDARD", "Ireland Standard", {})],
    "coa_accounts": [
        ("4000", "Sales Type A (4000)", {"nominal_code": 4000, "name": "Sales Type A"}),
        ("5000", "Cost of Sales - Goods (5000)", {"nominal_code": 5000, "name": "Cost of Sales - Goods"}),
        ("7500", "Office Costs (7500)", {"nominal_code": 7500, "name": "Office Costs"}),
    ],
}
# Lists of business data the sandbox does not produce itself: a few plausible entries, Sage-shaped ids.
GENERATED_ENTRIES = 3


def entries(business: Business, resource: str) -> list[tuple[str, str, dict]]:
    if resource in LISTS:
        return LISTS[resource]
    title = resource.rstrip("s").replace("_", " ").capitalize()
    return [
        (uuid.uuid5(uuid.UUID(business.id), f"{resource}:{number}").hex, f"{title} {number}", {})
        for number in range(1, GENERATED_ENTRIES + 1)
    ]


def _rows(business: Business, resource: str) -> list[GenericRecord]:
    from .records import blank_data  # records imports this module for reads

    fields = catalogue.definition_fields(resource)
    rows = []
    for key, displayed_as, extra in entries(business, resource):
        data = blank_data(resource)
        data.update({name: value for name, value in extra.items() if name in fields})
        rows.append(
            GenericRecord(
                business=business,
                resource=resource,
                key=key,
                displayed_as=displayed_as,
                data=data,
                created_at=SEED_MOMENT,
                updated_at=SEED_MOMENT,
            )
        )
    return rows


def ensure_reference_list(*, business: Business, resource: str) -> None:
    """Seed one read-only list for a business the first time it is needed (idempotent)."""
    if catalogue.resource(resource) is None or not catalogue.is_reference_list(resource):
        return
    if GenericRecord.objects.filter(business=business, resource=resource).exists():
        return
    with transaction.atomic():
        GenericRecord.objects.bulk_create(_rows(business, resource), ignore_conflicts=True)


def seed_reference_lists(*, business: Business) -> None:
    """Every read-only list of the business at once (the demo seed)."""
    seeded = set(
        GenericRecord.objects.filter(business=business).values_list("resource", flat=True).distinct()
    )
    rows = [
        row
        for resource in catalogue.resource_names()
        if catalogue.is_generic(resource) and catalogue.is_reference_list(resource) and resource not in seeded
        for row in _rows(business, resource)
    ]
    GenericRecord.objects.bulk_create(rows, ignore_conflicts=True)
