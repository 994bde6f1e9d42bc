"""Sage records mirrored per connection and business, and the bookkeeping of the syncs that fill them.

Every mirrored row keeps Sage's id, Sage's own created/updated times, the typed columns staff search, filter and
sort on, and the item exactly as Sage listed it (`raw`). Rows belong to a connection: disconnecting deletes them
(data minimisation); switching business keeps them, keyed by `business_id`.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from connections.models import Connection, EndUser

MONEY = {"max_digits": 18, "decimal_places": 2, "null": True, "blank": True}


class MirroredRecord(models.Model):
    # No index of its own: the unique constraint and the list indexes below all start with the connection.
    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="+", db_index=False)
    business_id = models.CharField(max_length=100)
    business_name = models.CharField(max_length=255, blank=True)
    sage_id = models.CharField("Sage id", max_length=100)
    displayed_as = models.CharField(max_length=255, blank=True)
    sage_created_at = models.DateTimeField("created at Sage", null=True, blank=True)
    sage_updated_at = models.DateTimeField("updated at Sage", null=True, blank=True)
    raw = models.JSONField("as Sage sent it", default=dict)
    synced_at = models.DateTimeField(default=timezone.now)

    # Sage's collection path, e.g. "contacts"; set by each concrete model.
    collection = ""

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return self.displayed_as or self.sage_id

    @property
    def sage_path(self) -> str:
        return f"/{self.collection}/{self.sage_id}"


class Contact(MirroredRecord):
    name = models.CharField(max_length=255, blank=True)
    reference = models.CharField(max_length=100, blank=True)
    email = models.CharField(max_length=254, blank=True)
    is_customer = models.BooleanField(default=False)
    is_vendor = models.BooleanField(default=False)
    currency = models.CharField(max_length=10, blank=True)
    balance = models.DecimalField(**MONEY)

    collection = "contacts"

    class Meta:
        verbose_name = "contact"
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["connection", "business_id", "sage_id"], name="records_contact_unique_per_business"
            )
        ]
        # The admin's orderings, whole and per end user (searches are LIKE '%…%': no index helps them, and
        # every index slows a full sync's inserts).
        indexes = [
            models.Index(fields=["name", "id"], name="records_contact_name"),
            models.Index(fields=["connection", "name", "id"], name="records_contact_conn_name"),
        ]
        permissions = [
            ("browse_mirrored_records", "Can browse mirrored Sage records (contacts, invoices, payments)"),
            ("manage_connections", "Can sync, refresh, check and disconnect Sage connections"),
        ]

    @property
    def contact_types(self) -> str:
        return ", ".join(
            kind for kind, flag in (("Customer", self.is_customer), ("Vendor", self.is_vendor)) if flag
        )


class SalesInvoice(MirroredRecord):
    invoice_number = models.CharField(max_length=100, blank=True)
    contact_sage_id = models.CharField(max_length=100, blank=True)
    contact_name = models.CharField(max_length=255, blank=True)
    reference = models.CharField(max_length=255, blank=True)
    date = models.DateField(null=True, blank=True)
    due_date = models.DateField(null=True, blank=True)
    status = models.CharField(max_length=30, blank=True)
    currency = models.CharField(max_length=10, blank=True)
    net_amount = models.DecimalField(**MONEY)
    tax_amount = models.DecimalField(**MONEY)
    total_amount = models.DecimalField(**MONEY)
    outstanding_amount = models.DecimalField(**MONEY)

    collection = "sales_invoices"
    CLOSED_STATUSES = ("PAID", "VOID", "DRAFT")

    class Meta:
        verbose_name = "sales invoice"
        ordering = ["-date", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["connection", "business_id", "sage_id"], name="records_invoice_unique_per_business"
            )
        ]
        indexes = [
            models.Index(fields=["-date", "-id"], name="records_invoice_date"),
            models.Index(
                fields=["connection", "business_id", "contact_sage_id"], name="records_invoice_contact"
            ),
            models.Index(fields=["connection", "-date", "-id"], name="records_invoice_conn_date"),
        ]

    @property
    def is_overdue(self) -> bool:
        return bool(
            self.due_date
            and self.due_date < timezone.localdate()
            and self.status not in self.CLOSED_STATUSES
            and (self.outstanding_amount or 0) > 0
        )


class SalesInvoiceLine(models.Model):
    invoice = models.ForeignKey(SalesInvoice, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveIntegerField(default=0)
    sage_id = models.CharField(max_length=100, blank=True)
    description = models.CharField(max_length=1000, blank=True)
    ledger_account = models.CharField(max_length=255, blank=True)
    quantity = models.DecimalField(max_digits=20, decimal_places=5, null=True, blank=True)
    unit_price = models.DecimalField(max_digits=20, decimal_places=5, null=True, blank=True)
    net_amount = models.DecimalField(**MONEY)
    tax_amount = models.DecimalField(**MONEY)
    total_amount = models.DecimalField(**MONEY)

    class Meta:
        verbose_name = "invoice line"
        ordering = ["position"]

    def __str__(self) -> str:
        return self.description


class ContactPayment(MirroredRecord):
    transaction_type = models.CharField(max_length=40, blank=True)
    payment_method = models.CharField(max_length=100, blank=True)
    contact_sage_id = models.CharField(max_length=100, blank=True)
    contact_name = models.CharField(max_length=255, blank=True)
    bank_account = models.CharField(max_length=255, blank=True)
    date = models.DateField(null=True, blank=True)
    reference = models.CharField(max_length=255, blank=True)
    currency = models.CharField(max_length=10, blank=True)
    total_amount = models.DecimalField(**MONEY)

    collection = "contact_payments"

    class Meta:
        verbose_name = "contact payment"
        ordering = ["-date", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["connection", "business_id", "sage_id"], name="records_payment_unique_per_business"
            )
        ]
        indexes = [
            models.Index(fields=["-date", "-id"], name="records_payment_date"),
            models.Index(fields=["connection", "-date", "-id"], name="records_payment_conn_date"),
            models.Index(
                fields=["connection", "business_id", "contact_sage_id"], name="records_payment_contact"
            ),
        ]


class PaymentAllocation(models.Model):
    payment = models.ForeignKey(ContactPayment, on_delete=models.CASCADE, related_name="allocations")
    position = models.PositiveIntegerField(default=0)
    invoice_sage_id = models.CharField(max_length=100, blank=True)
    invoice_displayed_as = models.CharField(max_length=255, blank=True)
    amount = models.DecimalField(**MONEY)
    discount = models.DecimalField(**MONEY)

    class Meta:
        verbose_name = "payment allocation"
        ordering = ["position"]
        indexes = [models.Index(fields=["invoice_sage_id"], name="records_allocation_invoice")]

    def __str__(self) -> str:
        return f"{self.amount} → {self.invoice_displayed_as or self.invoice_sage_id}"


# --- syncs ----------------------------------------------------------------------------------------------------


class SyncRun(models.Model):
    """One sync of a connection's business: one step (and one Celery task) per resource."""

    class Kind(models.TextChoices):
        FULL = "full", "Full"
        INCREMENTAL = "incremental", "Incremental"

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    FINISHED = (Status.SUCCEEDED, Status.FAILED)

    # Kept after a disconnect (the mirror goes, the history of what was fetched stays).
    connection = models.ForeignKey(
        Connection, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    end_user = models.ForeignKey(EndUser, on_delete=models.CASCADE, related_name="+")
    business_id = models.CharField(max_length=100)
    business_name = models.CharField(max_length=255, blank=True)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    trigger = models.CharField(max_length=30, blank=True, help_text="connected, schedule, staff, …")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.QUEUED)
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    pages_done = models.PositiveIntegerField(default=0)
    pages_total = models.PositiveIntegerField(default=0)
    created_count = models.PositiveIntegerField("created", default=0)
    updated_count = models.PositiveIntegerField("updated", default=0)
    deleted_count = models.PositiveIntegerField("deleted", default=0)
    calls = models.PositiveIntegerField("upstream calls", default=0)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["connection", "-created_at"], name="records_syncrun_connection")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} sync #{self.pk} ({self.get_status_display()})"

    @property
    def is_finished(self) -> bool:
        return self.status in self.FINISHED

    @property
    def progress_percent(self) -> int:
        return progress_percent(self.pages_done, self.pages_total, finished=self.is_finished)


def progress_percent(pages_done: int, pages_total: int, *, finished: bool) -> int:
    if not pages_total:
        return 100 if finished else 0
    return min(100, round(100 * pages_done / pages_total))


class SyncStep(models.Model):
    """One resource of a sync run (the unit a Celery task works on)."""

    run = models.ForeignKey(SyncRun, on_delete=models.CASCADE, related_name="steps")
    resource = models.CharField(max_length=40)
    kind = models.CharField(max_length=20, choices=SyncRun.Kind.choices)
    since = models.DateTimeField(null=True, blank=True, help_text="updated_or_created_since / deleted_since")
    status = models.CharField(max_length=20, choices=SyncRun.Status.choices, default=SyncRun.Status.QUEUED)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    pages_done = models.PositiveIntegerField(default=0)
    pages_total = models.PositiveIntegerField(default=0)
    created_count = models.PositiveIntegerField(default=0)
    updated_count = models.PositiveIntegerField(default=0)
    deleted_count = models.PositiveIntegerField(default=0)
    calls = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["run", "id"]
        constraints = [models.UniqueConstraint(fields=["run", "resource"], name="records_step_once_per_run")]

    def __str__(self) -> str:
        return f"{self.resource} ({self.get_status_display()})"


class SyncLease(models.Model):
    """The per-connection sync lock: a lease taken by compare-and-set, so it holds across processes and machines.

    A run holds it until its last step finishes; every page renews it, so a worker that died lets it lapse
    after RECORDS_SYNC_LEASE_SECONDS and the next sync takes over.
    """

    connection = models.OneToOneField(
        Connection, on_delete=models.CASCADE, related_name="+", primary_key=True
    )
    run = models.ForeignKey(SyncRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    expires_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"sync lease of connection {self.connection_id}"


class RequestBudgetWindow(models.Model):
    """Calls made by syncs to one business in one time window (the database budget; Redis holds it otherwise)."""

    business_id = models.CharField(max_length=100)
    window_start = models.DateTimeField()
    count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["business_id", "window_start"], name="records_budget_window_once")
        ]

    def __str__(self) -> str:
        return f"{self.count} calls to {self.business_id} from {self.window_start:%H:%M:%S}"


class RecordView(models.Model):
    """Audit trail: a staff member looked at a connection's mirrored records (who, which connection, when)."""

    viewed_at = models.DateTimeField(default=timezone.now)
    staff_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    staff_username = models.CharField(max_length=150)
    end_user = models.ForeignKey(EndUser, null=True, on_delete=models.SET_NULL, related_name="+")
    connection_id_viewed = models.PositiveBigIntegerField("connection id")
    business_id = models.CharField(max_length=100, blank=True)
    what = models.CharField(max_length=255, help_text="The page: a list (with its filters) or one record.")

    class Meta:
        verbose_name = "staff view of records"
        verbose_name_plural = "staff views of records"
        ordering = ["-viewed_at", "-id"]
        indexes = [
            models.Index(fields=["-viewed_at", "-id"], name="records_view_newest"),
            models.Index(fields=["connection_id_viewed", "-viewed_at"], name="records_view_connection"),
        ]

    def __str__(self) -> str:
        return f"{self.staff_username} viewed {self.what} at {self.viewed_at:%Y-%m-%d %H:%M:%S}"
