"""Sandbox accounting data per business: the records Sage v3.1 serves under /contacts, /sales_invoices, …

Ids are Sage-shaped (32 lower-case hex characters) except where Sage uses fixed codes (tax rates such as
`GB_STANDARD`). Records that Sage lets a client delete are kept with `deleted_at` set, because Sage's
`deleted_since` lists them afterwards: that is how an incremental sync learns about deletions.
"""

import uuid
from decimal import Decimal

from django.db import models
from django.db.models import Q, Sum
from django.utils import timezone

from sandbox.amounts import ZERO, round_money

__all__ = [
    "BankAccount",
    "Contact",
    "ContactPayment",
    "LedgerAccount",
    "PaymentAllocation",
    "SalesInvoice",
    "SalesInvoiceLine",
    "TaxRate",
]

MONEY = {"max_digits": 16, "decimal_places": 2, "default": ZERO}


def new_sage_id() -> str:
    return uuid.uuid4().hex


def sage_link(*, id: str, displayed_as: str, path: str) -> dict:
    """Sage's nested reference: the shape of `definitions.Base`."""
    return {"id": id, "displayed_as": displayed_as, "$path": path}


class RecordQuerySet(models.QuerySet):
    def alive(self):
        return self.filter(deleted_at__isnull=True)

    def deleted_after(self, moment):
        # Sage: `deleted_since` is not inclusive of the passed timestamp.
        return self.filter(deleted_at__gt=moment)


class BusinessRecord(models.Model):
    """Columns every Sage resource has. Timestamps are set explicitly so the seed can be deterministic."""

    id = models.CharField(primary_key=True, max_length=32, default=new_sage_id, editable=False)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now, db_index=True)
    deleted_at = models.DateTimeField(null=True, blank=True, db_index=True)

    objects = RecordQuerySet.as_manager()

    collection_path = ""

    class Meta:
        abstract = True

    @property
    def api_path(self) -> str:
        return f"/{self.collection_path}/{self.id}"

    @property
    def sage_id(self) -> str:
        return self.id

    def as_link(self) -> dict:
        return sage_link(id=self.sage_id, displayed_as=self.displayed_as, path=self.api_path)

    def touch(self, moment=None) -> None:
        self.updated_at = moment or timezone.now()


class TaxRate(models.Model):
    """A tax rate. Sage uses readable fixed ids per country (`GB_STANDARD`): `key`, unique per business."""

    business = models.ForeignKey("sandbox.Business", on_delete=models.CASCADE, related_name="tax_rates")
    key = models.CharField(max_length=40)
    name = models.CharField(max_length=100)
    percentage = models.DecimalField(max_digits=6, decimal_places=2)
    is_visible = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    collection_path = "tax_rates"

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["business", "key"], name="sandbox_taxrate_key_per_business")
        ]

    def __str__(self) -> str:
        return self.displayed_as

    @property
    def sage_id(self) -> str:
        return self.key

    @property
    def api_path(self) -> str:
        return f"/tax_rates/{self.key}"

    @property
    def displayed_as(self) -> str:
        return f"{self.name} {self.percentage:.2f}%"

    def as_link(self) -> dict:
        return sage_link(id=self.key, displayed_as=self.displayed_as, path=self.api_path)


class LedgerAccount(BusinessRecord):
    business = models.ForeignKey("sandbox.Business", on_delete=models.CASCADE, related_name="ledger_accounts")
    nominal_code = models.PositiveIntegerField()
    name = models.CharField(max_length=100)
    # Sage's ledger_account_type ids: SALES, OTHER_INCOME, CURRENT_ASSETS, BANK, EXPENSES, …
    ledger_account_type = models.CharField(max_length=40)
    tax_rate = models.ForeignKey(TaxRate, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    visible_in_sales = models.BooleanField(default=False)
    visible_in_expenses = models.BooleanField(default=False)
    visible_in_banking = models.BooleanField(default=False)

    collection_path = "ledger_accounts"

    class Meta:
        ordering = ["nominal_code"]

    def __str__(self) -> str:
        return self.displayed_as

    @property
    def displayed_as(self) -> str:
        return f"{self.name} ({self.nominal_code})"


class BankAccount(BusinessRecord):
    business = models.ForeignKey("sandbox.Business", on_delete=models.CASCADE, related_name="bank_accounts")
    ledger_account = models.ForeignKey(LedgerAccount, on_delete=models.PROTECT, related_name="bank_accounts")
    account_name = models.CharField(max_length=100)
    account_number = models.CharField(max_length=30, blank=True)
    sort_code = models.CharField(max_length=10, blank=True)
    # Sage's bank_account_type ids: CHECKING, SAVINGS, CREDIT_CARD, CASH_IN_HAND, LOAN, OTHER.
    bank_account_type = models.CharField(max_length=20, default="CHECKING")
    default_payment_method = models.CharField(max_length=30, blank=True)
    balance = models.DecimalField(**MONEY)

    collection_path = "bank_accounts"

    def __str__(self) -> str:
        return self.displayed_as

    @property
    def displayed_as(self) -> str:
        return f"{self.account_name} ({self.ledger_account.nominal_code})"


class Contact(BusinessRecord):
    business = models.ForeignKey("sandbox.Business", on_delete=models.CASCADE, related_name="contacts")
    name = models.CharField(max_length=200)
    reference = models.CharField(max_length=50, blank=True)
    is_customer = models.BooleanField(default=False)
    is_vendor = models.BooleanField(default=False)
    # Sage's `email` filter matches the main contact person's email, copied here to be indexed.
    email = models.CharField(max_length=254, blank=True, db_index=True)
    main_address = models.JSONField(default=dict, blank=True)
    main_contact_person = models.JSONField(default=dict, blank=True)
    notes = models.TextField(blank=True)
    tax_number = models.CharField(max_length=255, blank=True)
    locale = models.CharField(max_length=10, default="en")
    currency_code = models.CharField(max_length=3, default="GBP")
    credit_limit = models.DecimalField(**MONEY)
    credit_days = models.IntegerField(null=True, blank=True)
    balance = models.DecimalField(**MONEY)

    collection_path = "contacts"

    class Meta:
        indexes = [models.Index(fields=["business", "created_at"], name="sandbox_contact_created")]

    def __str__(self) -> str:
        return self.displayed_as

    @property
    def displayed_as(self) -> str:
        return f"{self.name} ({self.reference})" if self.reference else self.name

    @property
    def contact_type_ids(self) -> list[str]:
        return [
            type_id for type_id, flag in (("CUSTOMER", self.is_customer), ("VENDOR", self.is_vendor)) if flag
        ]

    @property
    def has_transactions(self) -> bool:
        return self.sales_invoices.alive().exists() or self.payments.alive().exists()

    def refresh_balance(self) -> None:
        """What the contact owes: open invoices less money received but not yet allocated."""
        owed = self.sales_invoices.alive().filter(status__in=SalesInvoice.OPEN_STATUSES).aggregate(
            total=Sum("outstanding_amount")
        )["total"] or Decimal(0)
        on_account = self.payments.alive().filter(transaction_type="CUSTOMER_RECEIPT").aggregate(
            total=Sum("unallocated_amount")
        )["total"] or Decimal(0)
        self.balance = round_money(owed - on_account)


class SalesInvoice(BusinessRecord):
    DRAFT, UNPAID, PART_PAID, PAID, VOID = "DRAFT", "UNPAID", "PART_PAID", "PAID", "VOID"
    STATUS_NAMES = {DRAFT: "Draft", UNPAID: "Unpaid", PART_PAID: "Part Paid", PAID: "Paid", VOID: "Void"}
    OPEN_STATUSES = (UNPAID, PART_PAID)

    business = models.ForeignKey("sandbox.Business", on_delete=models.CASCADE, related_name="sales_invoices")
    contact = models.ForeignKey(Contact, on_delete=models.PROTECT, related_name="sales_invoices")
    number = models.PositiveIntegerField()
    invoice_number_prefix = models.CharField(max_length=10, default="SI-")
    # Copies taken when the invoice is made, as Sage does, so renaming a contact leaves old invoices alone.
    contact_name = models.CharField(max_length=200)
    contact_reference = models.CharField(max_length=50, blank=True)
    date = models.DateField(db_index=True)
    due_date = models.DateField()
    reference = models.CharField(max_length=100, blank=True)
    notes = models.TextField(blank=True)
    status = models.CharField(max_length=20, default=UNPAID, db_index=True)
    void_reason = models.CharField(max_length=255, blank=True)
    currency_code = models.CharField(max_length=3, default="GBP")
    sent = models.BooleanField(default=False)
    net_amount = models.DecimalField(**MONEY)
    tax_amount = models.DecimalField(**MONEY)
    total_amount = models.DecimalField(**MONEY)
    outstanding_amount = models.DecimalField(**MONEY)
    total_quantity = models.DecimalField(max_digits=16, decimal_places=2, default=ZERO)
    last_paid = models.DateField(null=True, blank=True)

    collection_path = "sales_invoices"

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["business", "number"], name="sandbox_salesinvoice_number_per_business"
            )
        ]
        indexes = [models.Index(fields=["business", "created_at"], name="sandbox_invoice_created")]

    def __str__(self) -> str:
        return self.displayed_as

    @property
    def invoice_number(self) -> str:
        return f"{self.invoice_number_prefix}{self.number}"

    @property
    def displayed_as(self) -> str:
        return self.invoice_number

    @property
    def paid_amount(self) -> Decimal:
        return round_money(self.total_amount - self.outstanding_amount)

    @property
    def editable(self) -> bool:
        # Sage locks an invoice once money is allocated to it or it is voided.
        return self.status in (self.DRAFT, self.UNPAID) and self.outstanding_amount == self.total_amount

    def apply_line_totals(self, lines: list["SalesInvoiceLine"]) -> None:
        self.net_amount = round_money(sum((line.net_amount for line in lines), ZERO))
        self.tax_amount = round_money(sum((line.tax_amount for line in lines), ZERO))
        self.total_amount = round_money(self.net_amount + self.tax_amount)
        self.total_quantity = sum((line.quantity for line in lines), ZERO)

    def refresh_payment_state(self) -> None:
        """Outstanding amount and status follow the live allocations: UNPAID → PART_PAID → PAID."""
        if self.status in (self.DRAFT, self.VOID):
            return
        allocated = self.allocations.filter(payment__deleted_at__isnull=True).aggregate(total=Sum("amount"))[
            "total"
        ] or Decimal(0)
        self.outstanding_amount = round_money(self.total_amount - allocated)
        if self.outstanding_amount <= 0:
            self.status = self.PAID
        elif allocated > 0:
            self.status = self.PART_PAID
        else:
            self.status = self.UNPAID
        last = (
            self.allocations.filter(payment__deleted_at__isnull=True)
            .order_by("-payment__date")
            .values_list("payment__date", flat=True)
            .first()
        )
        self.last_paid = last


class SalesInvoiceLine(models.Model):
    id = models.CharField(primary_key=True, max_length=32, default=new_sage_id, editable=False)
    invoice = models.ForeignKey(SalesInvoice, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveIntegerField(default=0)
    description = models.CharField(max_length=500)
    ledger_account = models.ForeignKey(LedgerAccount, on_delete=models.PROTECT, related_name="+")
    quantity = models.DecimalField(max_digits=16, decimal_places=2, default=Decimal("1.00"))
    unit_price = models.DecimalField(max_digits=16, decimal_places=2)
    unit_price_includes_tax = models.BooleanField(default=False)
    discount_amount = models.DecimalField(**MONEY)
    tax_rate = models.ForeignKey(TaxRate, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    net_amount = models.DecimalField(**MONEY)
    tax_amount = models.DecimalField(**MONEY)
    total_amount = models.DecimalField(**MONEY)

    class Meta:
        ordering = ["position"]

    def __str__(self) -> str:
        return self.description

    @property
    def displayed_as(self) -> str:
        return self.description

    def compute_amounts(self, *, given_tax_amount: Decimal | None = None) -> None:
        """Net, tax and total from quantity, unit price, discount and the tax rate.

        A client may send `tax_amount` itself (Sage v3.1 accepts it and uses it); otherwise it is the rate
        applied to the line, rounded half-up to the cent per line.
        """
        percentage = self.tax_rate.percentage if self.tax_rate else ZERO
        gross_or_net = round_money(self.quantity * self.unit_price) - self.discount_amount
        if self.unit_price_includes_tax:
            tax = (
                given_tax_amount
                if given_tax_amount is not None
                else round_money(gross_or_net * percentage / (100 + percentage))
            )
            self.net_amount = round_money(gross_or_net - tax)
        else:
            self.net_amount = round_money(gross_or_net)
            tax = given_tax_amount if given_tax_amount is not None else self.net_amount * percentage / 100
        self.tax_amount = round_money(tax)
        self.total_amount = round_money(self.net_amount + self.tax_amount)


class ContactPayment(BusinessRecord):
    TRANSACTION_TYPES = {
        "CUSTOMER_RECEIPT": "Customer Receipt",
        "CUSTOMER_REFUND": "Customer Refund",
        "VENDOR_PAYMENT": "Vendor Payment",
        "VENDOR_REFUND": "Vendor Refund",
    }

    business = models.ForeignKey(
        "sandbox.Business", on_delete=models.CASCADE, related_name="contact_payments"
    )
    contact = models.ForeignKey(Contact, on_delete=models.PROTECT, related_name="payments")
    bank_account = models.ForeignKey(BankAccount, on_delete=models.PROTECT, related_name="payments")
    transaction_type = models.CharField(max_length=30, db_index=True)
    payment_method = models.CharField(max_length=30, blank=True)
    date = models.DateField(db_index=True)
    reference = models.CharField(max_length=40, blank=True)
    currency_code = models.CharField(max_length=3, default="GBP")
    total_amount = models.DecimalField(**MONEY)
    # Money received but not allocated to an invoice: Sage books it as a payment on account.
    unallocated_amount = models.DecimalField(**MONEY)

    collection_path = "contact_payments"

    class Meta:
        indexes = [models.Index(fields=["business", "created_at"], name="sandbox_payment_created")]

    def __str__(self) -> str:
        return self.displayed_as

    @property
    def displayed_as(self) -> str:
        return self.reference or self.TRANSACTION_TYPES.get(self.transaction_type, self.transaction_type)


class PaymentAllocation(models.Model):
    id = models.CharField(primary_key=True, max_length=32, default=new_sage_id, editable=False)
    payment = models.ForeignKey(ContactPayment, on_delete=models.CASCADE, related_name="allocations")
    invoice = models.ForeignKey(SalesInvoice, on_delete=models.PROTECT, related_name="allocations")
    amount = models.DecimalField(**MONEY)
    discount = models.DecimalField(**MONEY)

    class Meta:
        # A stable order for `allocated_artefacts` (PostgreSQL returns unordered rows in any order).
        ordering = ["invoice_id"]
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="sandbox_allocation_positive")]

    def __str__(self) -> str:
        return f"{self.amount} → {self.invoice_id}"
