"""The sandbox's demo world and a fast bulk seed for benchmarks.

Everything here is deterministic: ids come from uuid5 of the business and a counter, names and amounts from a
`random.Random` seeded with the business id, and timestamps from fixed dates. Seeding twice (after a reset)
gives the same answers byte for byte, so docs and tests can name records.

Rows are written with `bulk_create`, so 10 000 contacts and invoices take seconds, not minutes.
"""

import datetime as dt
import random
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import transaction
from django.db.models import Count, Max

from sandbox.amounts import ZERO, currency_for_country, round_money
from sandbox.generic.samples import seed_generic_resources
from sandbox.models import (
    AccessToken,
    AuthorizationCode,
    BankAccount,
    Business,
    Contact,
    ContactPayment,
    FaultRule,
    GenericRecord,
    Grant,
    LedgerAccount,
    PaymentAllocation,
    RateLimitWindow,
    RefreshToken,
    SalesInvoice,
    SalesInvoiceLine,
    SandboxUser,
    TaxRate,
)
from sandbox.resources.contacts import REFERENCE_LIMIT as CONTACT_REFERENCE_LIMIT
from sandbox.seed_identities import ensure_identities, fixed_id

SEED_EPOCH = dt.datetime(2025, 1, 6, 9, 0, tzinfo=dt.UTC)
BATCH_SIZE = 2000
# Records the demo seed puts in each writable resource served by the generic engine (products, journals, …).
GENERIC_RECORDS_PER_RESOURCE = 3


@dataclass(frozen=True)
class DemoContact:
    """The contact every doc and test can look up by email (the seed's "find contact by email" call)."""

    name: str
    reference: str
    email: str


# Keyed by the business keys of sandbox.seed_identities. Stable: documented in docs/sandbox.md.
DEMO_CONTACTS = {
    "demo-trading": DemoContact("Acme Widgets Ltd", "ACME001", "accounts@acme-widgets.example.com"),
    "sam-services": DemoContact("Liffey Design Studio", "LIFFEY001", "finance@liffey-design.example.com"),
    "una-shop": DemoContact("Lone Star Supplies", "LONESTAR01", "ap@lonestar-supplies.example.com"),
    "eve-lapsed": DemoContact("Quiet Lane Books", "QUIET001", "books@quiet-lane.example.com"),
}
# How much of the world each fixed business gets: (contacts, invoices).
DEMO_SIZES = {
    "demo-trading": (200, 150),
    "sam-services": (200, 150),
    "una-shop": (30, 20),
    "eve-lapsed": (5, 3),
}

TAX_RATES = {
    "GB": [
        ("GB_STANDARD", "Standard", "20.00"),
        ("GB_LOWER", "Lower Rate", "5.00"),
        ("GB_ZERO", "Zero Rated", "0.00"),
        ("GB_EXEMPT", "Exempt", "0.00"),
        ("GB_NO_TAX", "No Tax", "0.00"),
    ],
    "IE": [
        ("IE_STANDARD", "Standard", "23.00"),
        ("IE_REDUCED", "Reduced", "13.50"),
        ("IE_SECOND_REDUCED", "Second Reduced", "9.00"),
        ("IE_ZERO", "Zero Rated", "0.00"),
        ("IE_EXEMPT", "Exempt", "0.00"),
    ],
    "US": [("US_SALES_TAX", "Sales Tax", "6.25"), ("US_NO_TAX", "No Tax", "0.00")],
}
# (nominal code, name, ledger_account_type, visible in sales / expenses / banking)
LEDGER_ACCOUNTS = [
    (1100, "Debtors Control Account", "CURRENT_ASSETS", False, False, False),
    (1200, "Current", "BANK", False, False, True),
    (1210, "Savings", "BANK", False, False, True),
    (1230, "Petty Cash", "BANK", False, False, True),
    (2200, "Sales Tax Control", "CURRENT_LIABILITY", False, False, False),
    (4000, "Sales Type A", "SALES", True, False, False),
    (4010, "Sales Type B", "SALES", True, False, False),
    (4020, "Sales - Services", "SALES", True, False, False),
    (4900, "Other Income", "OTHER_INCOME", True, False, False),
    (5000, "Cost of Sales - Goods", "DIRECT_EXPENSES", False, True, False),
    (7500, "Office Costs", "OVERHEADS", False, True, False),
]
# (nominal code of its ledger, account name, type, default payment method)
BANK_ACCOUNTS = [
    (1200, "Current Account", "CHECKING", "BANK_TRANSFER"),
    (1210, "Business Savings", "SAVINGS", "BANK_TRANSFER"),
    (1230, "Petty Cash", "CASH_IN_HAND", "CASH"),
]

NAME_FIRST = [
    "Acorn",
    "Beacon",
    "Cedar",
    "Delta",
    "Ember",
    "Falcon",
    "Granite",
    "Harbour",
    "Iris",
    "Juniper",
    "Kestrel",
    "Lantern",
    "Maple",
    "Northern",
    "Orchard",
    "Pioneer",
    "Quarry",
    "Riverside",
    "Summit",
    "Thistle",
    "Upland",
    "Vale",
    "Willow",
    "Yarrow",
]
NAME_SECOND = [
    "Bakery",
    "Builders",
    "Consulting",
    "Design",
    "Electrical",
    "Foods",
    "Garage",
    "Hardware",
    "Interiors",
    "Joinery",
    "Kitchens",
    "Logistics",
    "Media",
    "Nursery",
    "Optics",
    "Printing",
    "Roofing",
    "Studios",
    "Textiles",
    "Travel",
]
NAME_SUFFIX = ["Ltd", "& Co", "Limited", "Partners", "Group"]
PEOPLE = [
    "Alex Morgan",
    "Bea Turner",
    "Chris Patel",
    "Dana Hughes",
    "Eli Brooks",
    "Fay Collins",
    "Gus Reid",
    "Hana Price",
    "Ivan Cole",
    "Jo Bennett",
    "Kit Walsh",
    "Lou Grant",
]
CITIES = [
    "London",
    "Manchester",
    "Bristol",
    "Leeds",
    "Glasgow",
    "Cardiff",
    "Dublin",
    "Cork",
    "Austin",
    "Boston",
]
ITEMS = [
    "Consulting hours",
    "Design work",
    "Widgets (box of 10)",
    "Installation",
    "Maintenance visit",
    "Training session",
    "Delivery",
    "Spare parts",
    "Annual support",
    "Software licence",
]
PAYMENT_METHODS = ["BANK_TRANSFER", "CREDIT_DEBIT", "CASH", "CHECK"]
# The demo spread of statuses, in the order invoices are made (repeats).
STATUS_CYCLE = [
    "UNPAID",
    "PAID",
    "UNPAID",
    "PART_PAID",
    "PAID",
    "UNPAID",
    "DRAFT",
    "PAID",
    "PART_PAID",
    "VOID",
    "UNPAID",
    "PAID",
    "UNPAID",
    "PART_PAID",
    "UNPAID",
]


def business_key(business: Business) -> str | None:
    for key in DEMO_SIZES:
        if business.id == fixed_id(f"business:{key}"):
            return key
    return None


def currency_for(business: Business) -> str:
    return currency_for_country(business.country_code)


# --- reference data ----------------------------------------------------------------------------------


@dataclass
class Ledgers:
    tax_rates: list[TaxRate]
    sales_ledgers: list[LedgerAccount]
    bank_accounts: list[BankAccount]


def seed_reference_data(business: Business) -> Ledgers:
    """Tax rates, a small chart of accounts and three bank accounts, unless the business already has them."""
    if TaxRate.objects.filter(business=business).exists():
        return _existing_reference_data(business)
    country = business.country_code
    rate_specs = TAX_RATES.get(country) or [
        (f"{country}_STANDARD", "Standard", "20.00"),
        (f"{country}_ZERO", "Zero Rated", "0.00"),
    ]
    rates = TaxRate.objects.bulk_create(
        TaxRate(
            business=business,
            key=key,
            name=name,
            percentage=Decimal(percentage),
            created_at=SEED_EPOCH,
            updated_at=SEED_EPOCH,
        )
        for key, name, percentage in rate_specs
    )
    ledgers = LedgerAccount.objects.bulk_create(
        LedgerAccount(
            id=fixed_id(f"{business.id}:ledger:{code}"),
            business=business,
            nominal_code=code,
            name=name,
            ledger_account_type=kind,
            visible_in_sales=sales,
            visible_in_expenses=expenses,
            visible_in_banking=banking,
            tax_rate=rates[0] if kind == "SALES" else None,
            created_at=SEED_EPOCH,
            updated_at=SEED_EPOCH,
        )
        for code, name, kind, sales, expenses, banking in LEDGER_ACCOUNTS
    )
    by_code = {ledger.nominal_code: ledger for ledger in ledgers}
    BankAccount.objects.bulk_create(
        BankAccount(
            id=fixed_id(f"{business.id}:bank:{code}"),
            business=business,
            ledger_account=by_code[code],
            account_name=name,
            account_number=f"{40000000 + code * 7:08d}",
            sort_code="40-11-62",
            bank_account_type=kind,
            default_payment_method=method,
            created_at=SEED_EPOCH,
            updated_at=SEED_EPOCH,
        )
        for code, name, kind, method in BANK_ACCOUNTS
    )
    return _existing_reference_data(business)


def _existing_reference_data(business: Business) -> Ledgers:
    return Ledgers(
        tax_rates=list(TaxRate.objects.filter(business=business).order_by("-percentage", "key")),
        sales_ledgers=list(LedgerAccount.objects.alive().filter(business=business, visible_in_sales=True)),
        bank_accounts=list(
            BankAccount.objects.alive()
            .filter(business=business)
            .select_related("ledger_account")
            .order_by("ledger_account__nominal_code", "id")  # same order on every database
        ),
    )


# --- contacts, invoices, payments --------------------------------------------------------------------


@dataclass
class Batch:
    """Rows to write together, in dependency order."""

    contacts: list[Contact] = field(default_factory=list)
    invoices: list[SalesInvoice] = field(default_factory=list)
    lines: list[SalesInvoiceLine] = field(default_factory=list)
    payments: list[ContactPayment] = field(default_factory=list)
    allocations: list[PaymentAllocation] = field(default_factory=list)

    def write(self) -> None:
        Contact.objects.bulk_create(self.contacts, batch_size=BATCH_SIZE)
        SalesInvoice.objects.bulk_create(self.invoices, batch_size=BATCH_SIZE)
        SalesInvoiceLine.objects.bulk_create(self.lines, batch_size=BATCH_SIZE)
        ContactPayment.objects.bulk_create(self.payments, batch_size=BATCH_SIZE)
        PaymentAllocation.objects.bulk_create(self.allocations, batch_size=BATCH_SIZE)


def _company_name(rng: random.Random) -> str:
    return f"{rng.choice(NAME_FIRST)} {rng.choice(NAME_SECOND)} {rng.choice(NAME_SUFFIX)}"


def seed_reference(tag: str, index: int) -> str:
    """DEMO00042: the tag and a number, within Sage's 10 characters for Contact.reference."""
    reference = f"{tag.upper()}{index:05d}"
    if len(reference) > CONTACT_REFERENCE_LIMIT:
        raise ValueError(f"{index} contacts do not fit a {CONTACT_REFERENCE_LIMIT}-character {tag} reference")
    return reference


def _make_contact(
    business: Business,
    rng: random.Random,
    *,
    tag: str,
    index: int,
    created_at: dt.datetime,
    demo: DemoContact | None = None,
) -> Contact:
    name = demo.name if demo else _company_name(rng)
    reference = demo.reference if demo else seed_reference(tag, index)
    email = demo.email if demo else f"{tag}{index:05d}@{name.split()[0].lower()}.example.com"
    person = rng.choice(PEOPLE)
    is_vendor = demo is None and index % 10 == 9
    return Contact(
        id=fixed_id(f"{business.id}:{tag}:{index}"),
        business=business,
        name=name,
        reference=reference,
        is_customer=not is_vendor,
        is_vendor=is_vendor,
        email=email,
        main_address={
            "address_line_1": f"{rng.randint(1, 250)} High Street",
            "city": rng.choice(CITIES),
            "postal_code": f"AB{rng.randint(1, 99)} {rng.randint(1, 9)}CD",
            "country_id": business.country_code,
        },
        main_contact_person={
            "name": person,
            "email": email,
            "telephone": f"0{rng.randint(1000000000, 1999999999)}",
        },
        currency_code=currency_for(business),
        credit_days=30,
        created_at=created_at,
        updated_at=created_at,
    )


def _make_invoice(
    business: Business,
    rng: random.Random,
    batch: Batch,
    ledgers: Ledgers,
    *,
    tag: str,
    index: int,
    number: int,
    contact: Contact,
    status: str,
) -> SalesInvoice:
    date = (SEED_EPOCH + dt.timedelta(days=index % 300)).date()
    created_at = dt.datetime.combine(date, dt.time(10, 0), tzinfo=dt.UTC) + dt.timedelta(seconds=index)
    invoice = SalesInvoice(
        id=fixed_id(f"{business.id}:{tag}-invoice:{index}"),
        business=business,
        contact=contact,
        number=number,
        contact_name=contact.name,
        contact_reference=contact.reference,
        date=date,
        due_date=date + dt.timedelta(days=30),
        reference=f"PO-{10000 + index}",
        status=status,
        currency_code=contact.currency_code,
        sent=status != "DRAFT",
        created_at=created_at,
        updated_at=created_at,
    )
    lines = []
    for position in range(1 + index % 3):
        line = SalesInvoiceLine(
            id=fixed_id(f"{invoice.id}:line:{position}"),
            invoice=invoice,
            position=position,
            description=rng.choice(ITEMS),
            ledger_account=rng.choice(ledgers.sales_ledgers),
            quantity=Decimal(rng.randint(1, 5)),
            unit_price=Decimal(rng.randint(500, 90000)) / 100,
            tax_rate=ledgers.tax_rates[0] if position != 2 else ledgers.tax_rates[-1],
        )
        line.compute_amounts()
        lines.append(line)
    invoice.apply_line_totals(lines)
    invoice.outstanding_amount = invoice.total_amount
    batch.lines.extend(lines)
    if status == "VOID":
        invoice.void_reason = "Raised in error"
        invoice.outstanding_amount = ZERO
    elif status in ("PAID", "PART_PAID"):
        amount = (
            invoice.total_amount if status == "PAID" else round_money(invoice.total_amount * Decimal("0.4"))
        )
        paid_on = date + dt.timedelta(days=7 + index % 20)
        paid_at = created_at + dt.timedelta(days=7 + index % 20)
        payment = ContactPayment(
            id=fixed_id(f"{business.id}:{tag}-payment:{index}"),
            business=business,
            contact=contact,
            bank_account=ledgers.bank_accounts[0],
            transaction_type="CUSTOMER_RECEIPT",
            payment_method=rng.choice(PAYMENT_METHODS),
            date=paid_on,
            reference=f"RCPT-{number}",
            currency_code=contact.currency_code,
            total_amount=amount,
            created_at=paid_at,
            updated_at=paid_at,
        )
        batch.payments.append(payment)
        batch.allocations.append(
            PaymentAllocation(
                id=fixed_id(f"{payment.id}:allocation"), payment=payment, invoice=invoice, amount=amount
            )
        )
        ledgers.bank_accounts[0].balance += amount
        invoice.outstanding_amount = round_money(invoice.total_amount - amount)
        invoice.last_paid = paid_on
        invoice.updated_at = paid_at
    if status in SalesInvoice.OPEN_STATUSES:
        contact.balance += invoice.outstanding_amount
    batch.invoices.append(invoice)
    return invoice


def _add_world(
    business: Business,
    *,
    contacts: int,
    invoices: int,
    tag: str,
    statuses: list[str],
    demo: DemoContact | None = None,
) -> Batch:
    """Build (unsaved) `contacts` contacts and `invoices` invoices spread over the customers among them."""
    rng = random.Random(f"{business.id}:{tag}")
    ledgers = seed_reference_data(business)
    batch = Batch()
    first_index = Contact.objects.filter(business=business, reference__startswith=tag.upper()).count()
    for offset in range(contacts):
        index = first_index + offset
        created_at = SEED_EPOCH + dt.timedelta(minutes=index)
        batch.contacts.append(
            _make_contact(
                business, rng, tag=tag, index=index, created_at=created_at, demo=demo if offset == 0 else None
            )
        )
    customers = [contact for contact in batch.contacts if contact.is_customer]
    existing_customers: list[Contact] = []
    if invoices and not customers:
        # Invoices without new contacts go to the business's existing customers.
        existing_customers = list(Contact.objects.alive().filter(business=business, is_customer=True)[:1000])
        customers = existing_customers
    if invoices and not customers:
        raise ValueError("Invoices need at least one customer contact")
    next_number = (
        SalesInvoice.objects.filter(business=business).aggregate(highest=Max("number"))["highest"] or 0
    ) + 1
    first_invoice = SalesInvoice.objects.filter(business=business).count()
    for offset in range(invoices):
        _make_invoice(
            business,
            rng,
            batch,
            ledgers,
            tag=tag,
            index=first_invoice + offset,
            number=next_number + offset,
            contact=customers[offset % len(customers)],
            status=statuses[offset % len(statuses)],
        )
    for payment in batch.payments:
        payment.unallocated_amount = ZERO
    BankAccount.objects.bulk_update(ledgers.bank_accounts, ["balance"])
    Contact.objects.bulk_update(existing_customers, ["balance"], batch_size=BATCH_SIZE)
    return batch


@transaction.atomic
def seed_business(business: Business, *, contacts: int, invoices: int) -> Batch:
    """Add `contacts` contacts and `invoices` unpaid invoices to a business quickly (benchmarks)."""
    batch = _add_world(business, contacts=contacts, invoices=invoices, tag="bulk", statuses=["UNPAID"])
    batch.write()
    return batch


@transaction.atomic
def seed_demo_world() -> list[Business]:
    """The fixed identities and, for each of their businesses, reference data and demo contacts/invoices."""
    businesses = ensure_identities()
    for business in businesses:
        key = business_key(business)
        contacts, invoices = DEMO_SIZES.get(key, (0, 0))
        seed_reference_data(business)
        if contacts and not Contact.objects.filter(business=business).exists():
            _add_world(
                business,
                contacts=contacts,
                invoices=invoices,
                tag="demo",
                statuses=STATUS_CYCLE,
                demo=DEMO_CONTACTS.get(key),
            ).write()
        if (
            contacts
            and business.subscription_active
            and not GenericRecord.objects.filter(business=business).exists()
        ):
            # A few records in every other resource of Sage's description (products, purchase invoices, …); not
            # for a business without a subscription, whose API answers 401 anyway.
            seed_generic_resources(
                business=business, per_resource=GENERIC_RECORDS_PER_RESOURCE, epoch=SEED_EPOCH
            )
    return businesses


def record_counts(business_ids: list[str]) -> dict[str, tuple[int, int]]:
    """Live contacts and sales invoices per business: {business id: (contacts, invoices)}."""
    contacts = dict(
        Contact.objects.alive()
        .filter(business_id__in=business_ids)
        .values_list("business_id")
        .annotate(count=Count("pk"))
    )
    invoices = dict(
        SalesInvoice.objects.alive()
        .filter(business_id__in=business_ids)
        .values_list("business_id")
        .annotate(count=Count("pk"))
    )
    return {
        business_id: (contacts.get(business_id, 0), invoices.get(business_id, 0))
        for business_id in business_ids
    }


def has_data() -> bool:
    return Contact.objects.exists() or LedgerAccount.objects.exists() or TaxRate.objects.exists()


@transaction.atomic
def wipe_everything() -> None:
    """Every accounting record, token, code, fault and identity; registered apps stay. Children go first
    because invoices and payments protect what they point at."""
    for model in (
        GenericRecord,
        PaymentAllocation,
        ContactPayment,
        SalesInvoiceLine,
        SalesInvoice,
        Contact,
        BankAccount,
        LedgerAccount,
        TaxRate,
        AccessToken,
        RefreshToken,
        Grant,
        AuthorizationCode,
        FaultRule,
        RateLimitWindow,
    ):
        model.objects.all().delete()
    SandboxUser.objects.all().delete()
    Business.objects.all().delete()
