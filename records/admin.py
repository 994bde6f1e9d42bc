"""The staff console: mirrored records (read-only, behind their own permission, every view audited), the sync
history, and the connection page as a dashboard with its actions (Sync now, Refresh token now, Check connection,
Disconnect). Thin: every action calls one service."""

from __future__ import annotations

import json
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.text import Truncator

from api import console
from connections import proxy, services, tokens
from connections.admin import ConnectionAdmin
from connections.exceptions import NotConnected, SageintError
from connections.models import Connection
from connections.sage_details import split_sage_details, with_sage_details
from connections.templatetags.connection_display import message_with_details

from . import sync
from .audit import record_views
from .models import (
    Contact,
    ContactPayment,
    PaymentAllocation,
    RecordView,
    SalesInvoice,
    SalesInvoiceLine,
    SyncRun,
)
from .refresh import refresh_record
from .selectors import dashboard_for

BROWSE = "records.browse_mirrored_records"
MANAGE = "records.manage_connections"


def can_browse(request: HttpRequest) -> bool:
    return request.user.is_active and request.user.is_staff and request.user.has_perm(BROWSE)


def admin_url(model, view: str, *args, query: dict | None = None) -> str:
    url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)
    return f"{url}?{urlencode(query)}" if query else url


# --- list filters (each reads its choices in one query, whatever the number of rows) -------------------------


class ConnectionFilter(admin.SimpleListFilter):
    title = "end user"
    parameter_name = "connection"

    def lookups(self, request, model_admin):
        connections = Connection.objects.select_related("end_user").order_by("end_user__display_name", "pk")
        return [(str(c.pk), str(c.end_user.display_name or c.end_user.external_id)) for c in connections]

    def queryset(self, request, queryset):
        return queryset.filter(connection_id=self.value()) if self.value() else queryset


class BusinessFilter(admin.SimpleListFilter):
    title = "business"
    parameter_name = "business"

    def lookups(self, request, model_admin):
        names = {}
        for businesses in Connection.objects.values_list("businesses", flat=True):
            for business in businesses or []:
                names.setdefault(str(business.get("id")), str(business.get("name") or business.get("id")))
        return sorted(names.items(), key=lambda item: item[1])

    def queryset(self, request, queryset):
        return queryset.filter(business_id=self.value()) if self.value() else queryset


class ContactTypeFilter(admin.SimpleListFilter):
    title = "contact type"
    parameter_name = "contact_type"

    def lookups(self, request, model_admin):
        return [("CUSTOMER", "Customer"), ("VENDOR", "Vendor")]

    def queryset(self, request, queryset):
        if self.value() == "CUSTOMER":
            return queryset.filter(is_customer=True)
        if self.value() == "VENDOR":
            return queryset.filter(is_vendor=True)
        return queryset


class InvoiceStatusFilter(admin.SimpleListFilter):
    title = "status"
    parameter_name = "status"

    def lookups(self, request, model_admin):
        return [(s, s.replace("_", " ").title()) for s in ("DRAFT", "UNPAID", "PART_PAID", "PAID", "VOID")]

    def queryset(self, request, queryset):
        return queryset.filter(status=self.value()) if self.value() else queryset


class OverdueFilter(admin.SimpleListFilter):
    title = "overdue"
    parameter_name = "overdue"

    def lookups(self, request, model_admin):
        return [("yes", "Overdue"), ("no", "Not overdue")]

    def queryset(self, request, queryset):
        overdue = {"due_date__lt": timezone.localdate(), "outstanding_amount__gt": 0}
        if self.value() == "yes":
            return queryset.filter(**overdue).exclude(status__in=SalesInvoice.CLOSED_STATUSES)
        if self.value() == "no":
            return queryset.exclude(
                pk__in=queryset.filter(**overdue).exclude(status__in=SalesInvoice.CLOSED_STATUSES)
            )
        return queryset


class TransactionTypeFilter(admin.SimpleListFilter):
    title = "transaction type"
    parameter_name = "transaction_type"

    def lookups(self, request, model_admin):
        kinds = ("CUSTOMER_RECEIPT", "CUSTOMER_REFUND", "VENDOR_PAYMENT", "VENDOR_REFUND")
        return [(kind, kind.replace("_", " ").title()) for kind in kinds]

    def queryset(self, request, queryset):
        return queryset.filter(transaction_type=self.value()) if self.value() else queryset


# --- mirrored records ------------------------------------------------------------------------------------------


class MirroredChangeList(ChangeList):
    """List rows without what only the detail page shows: the raw JSON, and the connection beyond the end user."""

    def get_queryset(self, request, exclude_parameters=None):
        model = self.model
        columns = [field.name for field in model._meta.concrete_fields if field.name != "raw"]
        return (
            super()
            .get_queryset(request, exclude_parameters)
            .only(*columns, "connection__end_user__display_name", "connection__end_user__external_id")
        )


class MirroredRecordAdmin(admin.ModelAdmin):
    """Read-only, behind BROWSE; every list and detail page writes who saw which connection's records."""

    change_form_template = "admin/records/record_detail.html"
    list_select_related = ("connection__end_user",)
    list_per_page = 100
    # Counting a whole large table on every filtered page costs more than the page itself.
    show_full_result_count = False
    # Django re-resolves the list URL once per row to carry filters into each row's link: measurable on a
    # 100-row page, and staff come back to the list with the browser's Back button anyway.
    preserve_filters = False
    common_readonly = (
        "end_user",
        "business_name",
        "sage_id",
        "sage_created_at",
        "sage_updated_at",
        "synced_at",
    )

    def has_module_permission(self, request) -> bool:
        return can_browse(request)

    def has_view_permission(self, request, obj=None) -> bool:
        return can_browse(request)

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def get_readonly_fields(self, request, obj=None):
        return [*self.fields_shown, *self.common_readonly, "raw_json"]

    def get_fields(self, request, obj=None):
        return self.get_readonly_fields(request, obj)

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("connection__end_user")

    @admin.display(description="end user", ordering="connection__end_user__display_name")
    def end_user(self, obj) -> str:
        # Plain text in lists (a URL per row is measurable on a 100-row page); a link on the detail page.
        end_user = obj.connection.end_user
        return end_user.display_name or end_user.external_id

    @admin.display(description="connection")
    def connection_link(self, obj) -> str:
        return format_html(
            '<a href="{}">{}</a>', admin_url(Connection, "change", obj.connection_id), obj.connection
        )

    def get_changelist(self, request, **kwargs):
        return MirroredChangeList

    @admin.display(description="as Sage sent it")
    def raw_json(self, obj) -> str:
        return format_html("<pre>{}</pre>", json.dumps(obj.raw, indent=2, sort_keys=True))

    def changelist_view(self, request, extra_context=None):
        response = super().changelist_view(request, extra_context)
        changelist = (
            getattr(response, "context_data", {}).get("cl") if hasattr(response, "context_data") else None
        )
        if changelist is not None:
            query = request.GET.urlencode()
            what = f"{self.model._meta.verbose_name_plural} list" + (f" ?{query}" if query else "")
            record_views(request=request, records=changelist.result_list, what=what)
        return response

    def change_view(self, request, object_id, form_url="", extra_context=None):
        response = super().change_view(request, object_id, form_url, extra_context)
        original = (
            getattr(response, "context_data", {}).get("original")
            if hasattr(response, "context_data")
            else None
        )
        if original is not None:
            what = f"{self.model._meta.verbose_name} {original.displayed_as or original.sage_id} ({original.sage_id})"
            record_views(request=request, records=[original], what=what)
        return response

    def get_urls(self):
        info = self.model._meta.app_label, self.model._meta.model_name
        return [
            path(
                "<int:object_id>/refresh/",
                self.admin_site.admin_view(self.refresh_view),
                name="{}_{}_refresh".format(*info),
            ),
            *super().get_urls(),
        ]

    def refresh_view(self, request, object_id: int):
        if request.method != "POST":
            return redirect(admin_url(self.model, "change", object_id))
        if not self.has_view_permission(request):
            raise PermissionDenied
        record = get_object_or_404(self.model, pk=object_id)
        try:
            refreshed = refresh_record(record=record)
        except SageintError as error:
            messages.error(request, f"Could not refresh from Sage: {getattr(error, 'message', '') or error}")
            return redirect(admin_url(self.model, "change", object_id))
        if refreshed.outcome == "deleted":
            messages.warning(request, "Sage no longer has this record: it was removed from the mirror.")
            return redirect(admin_url(self.model, "changelist"))
        messages.success(
            request,
            "Refreshed from Sage: " + ("updated." if refreshed.outcome == "updated" else "no change."),
        )
        return redirect(admin_url(self.model, "change", object_id))

    def related_query(self, obj, **extra) -> dict:
        return {"connection": obj.connection_id, "business": obj.business_id, **extra}


@admin.register(Contact)
class ContactAdmin(MirroredRecordAdmin):
    list_display = (
        "name",
        "email",
        "reference",
        "contact_types",
        "currency",
        "balance",
        "end_user",
        "business_name",
    )
    list_filter = (ConnectionFilter, BusinessFilter, ContactTypeFilter)
    search_fields = ("name", "email", "reference")
    fields_shown = (
        "name",
        "email",
        "reference",
        "contact_types",
        "currency",
        "balance",
        "invoices",
        "payments",
    )

    @admin.display(description="contact types")
    def contact_types(self, obj: Contact) -> str:
        return obj.contact_types

    @admin.display(description="invoices")
    def invoices(self, obj: Contact) -> str:
        count = SalesInvoice.objects.filter(
            connection_id=obj.connection_id, business_id=obj.business_id, contact_sage_id=obj.sage_id
        ).count()
        url = admin_url(
            SalesInvoice, "changelist", query=self.related_query(obj, contact_sage_id=obj.sage_id)
        )
        return format_html('<a href="{}" id="contact-invoices">{} invoice(s)</a>', url, count)

    @admin.display(description="payments")
    def payments(self, obj: Contact) -> str:
        count = ContactPayment.objects.filter(
            connection_id=obj.connection_id, business_id=obj.business_id, contact_sage_id=obj.sage_id
        ).count()
        url = admin_url(
            ContactPayment, "changelist", query=self.related_query(obj, contact_sage_id=obj.sage_id)
        )
        return format_html('<a href="{}" id="contact-payments">{} payment(s)</a>', url, count)


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_view_permission(self, request, obj=None) -> bool:
        return can_browse(request)


class InvoiceLineInline(ReadOnlyInline):
    model = SalesInvoiceLine
    fields = (
        "description",
        "ledger_account",
        "quantity",
        "unit_price",
        "net_amount",
        "tax_amount",
        "total_amount",
    )
    readonly_fields = fields


@admin.register(SalesInvoice)
class SalesInvoiceAdmin(MirroredRecordAdmin):
    list_display = (
        "invoice_number",
        "contact_name",
        "date",
        "due_date",
        "status",
        "currency",
        "total_amount",
        "outstanding_amount",
        "overdue",
        "end_user",
        "business_name",
    )
    list_filter = (ConnectionFilter, BusinessFilter, InvoiceStatusFilter, OverdueFilter)
    search_fields = ("invoice_number", "reference", "contact_name")
    date_hierarchy = "date"
    inlines = [InvoiceLineInline]
    fields_shown = (
        "invoice_number",
        "contact",
        "reference",
        "date",
        "due_date",
        "status",
        "overdue",
        "currency",
        "net_amount",
        "tax_amount",
        "total_amount",
        "outstanding_amount",
        "payments",
    )

    @admin.display(boolean=True, description="overdue")
    def overdue(self, obj: SalesInvoice) -> bool:
        return obj.is_overdue

    @admin.display(description="contact")
    def contact(self, obj: SalesInvoice) -> str:
        contact_pk = (
            Contact.objects.filter(
                connection_id=obj.connection_id, business_id=obj.business_id, sage_id=obj.contact_sage_id
            )
            .values_list("pk", flat=True)
            .first()
        )
        if contact_pk is None:
            return obj.contact_name or obj.contact_sage_id or "—"
        url = admin_url(Contact, "change", contact_pk)
        return format_html(
            '<a href="{}" id="invoice-contact">{}</a>', url, obj.contact_name or obj.contact_sage_id
        )

    @admin.display(description="payments")
    def payments(self, obj: SalesInvoice) -> str:
        allocations = PaymentAllocation.objects.filter(
            invoice_sage_id=obj.sage_id,
            payment__connection_id=obj.connection_id,
            payment__business_id=obj.business_id,
        ).select_related("payment")
        rows = [
            (
                admin_url(ContactPayment, "change", a.payment_id),
                str(a.payment),
                a.payment.date or "",
                a.amount,
            )
            for a in allocations
        ]
        if not rows:
            return "none"
        return format_html_join(mark_safe("<br>"), '<a href="{}">{}</a> ({}): {}', rows)


class AllocationInline(ReadOnlyInline):
    model = PaymentAllocation
    fields = ("invoice", "amount", "discount")
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("payment")

    @admin.display(description="invoice")
    def invoice(self, obj: PaymentAllocation) -> str:
        invoice_pk = (
            SalesInvoice.objects.filter(
                connection_id=obj.payment.connection_id,
                business_id=obj.payment.business_id,
                sage_id=obj.invoice_sage_id,
            )
            .values_list("pk", flat=True)
            .first()
        )
        label = obj.invoice_displayed_as or obj.invoice_sage_id
        if invoice_pk is None:
            return label
        return format_html('<a href="{}">{}</a>', admin_url(SalesInvoice, "change", invoice_pk), label)


@admin.register(ContactPayment)
class ContactPaymentAdmin(MirroredRecordAdmin):
    list_display = (
        "__str__",
        "date",
        "transaction_type",
        "contact_name",
        "reference",
        "currency",
        "total_amount",
        "end_user",
        "business_name",
    )
    list_filter = (ConnectionFilter, BusinessFilter, TransactionTypeFilter)
    search_fields = ("reference", "contact_name")
    date_hierarchy = "date"
    inlines = [AllocationInline]
    fields_shown = (
        "transaction_type",
        "payment_method",
        "contact",
        "bank_account",
        "date",
        "reference",
        "currency",
        "total_amount",
    )

    @admin.display(description="contact")
    def contact(self, obj: ContactPayment) -> str:
        contact_pk = (
            Contact.objects.filter(
                connection_id=obj.connection_id, business_id=obj.business_id, sage_id=obj.contact_sage_id
            )
            .values_list("pk", flat=True)
            .first()
        )
        if contact_pk is None:
            return obj.contact_name or "—"
        return format_html('<a href="{}">{}</a>', admin_url(Contact, "change", contact_pk), obj.contact_name)


# --- sync history and the staff audit trail ------------------------------------------------------------------


class ReadOnlyHistoryAdmin(admin.ModelAdmin):
    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(SyncRun)
class SyncRunAdmin(ReadOnlyHistoryAdmin):
    list_display = (
        "created_at",
        "end_user",
        "business_name",
        "kind",
        "trigger",
        "status",
        "progress",
        "created_count",
        "updated_count",
        "deleted_count",
        "calls",
        "duration_ms",
        "short_error",
    )
    list_filter = ("status", "kind", "trigger")
    list_select_related = ("end_user",)
    search_fields = ("end_user__external_id", "end_user__display_name", "business_name")
    date_hierarchy = "created_at"
    show_full_result_count = False

    def has_module_permission(self, request) -> bool:
        return can_browse(request) or super().has_module_permission(request)

    def has_view_permission(self, request, obj=None) -> bool:
        return can_browse(request) or super().has_view_permission(request, obj)

    @admin.display(description="pages")
    def progress(self, obj: SyncRun) -> str:
        return f"{obj.pages_done}/{obj.pages_total}"

    @admin.display(description="error")
    def short_error(self, obj: SyncRun) -> str:
        # The sentence cut short; Sage's error code (if any) kept, on a line of its own.
        sentence, details = split_sage_details(obj.error)
        return message_with_details(with_sage_details(Truncator(sentence).chars(120), details))


@admin.register(RecordView)
class RecordViewAdmin(ReadOnlyHistoryAdmin):
    list_display = ("viewed_at", "staff_username", "end_user", "connection_id_viewed", "business_id", "what")
    list_select_related = ("end_user",)
    search_fields = ("staff_username", "what", "end_user__external_id")
    date_hierarchy = "viewed_at"
    show_full_result_count = False


# --- the connection dashboard -----------------------------------------------------------------------------------

admin.site.unregister(Connection)


@admin.register(Connection)
class ConnectionDashboardAdmin(ConnectionAdmin):
    """The connection page as a dashboard: state, records, syncs, and the actions staff need."""

    change_form_template = "admin/records/connection_dashboard.html"

    def has_delete_permission(self, request, obj=None) -> bool:
        return request.user.has_perm(MANAGE)

    def get_fields(self, request, obj=None):
        fields = super().get_fields(request, obj)
        if obj is not None and request.user.has_perm(console.PERMISSION):
            fields = [*fields, "api_console_link"]
        return fields

    def get_readonly_fields(self, request, obj=None):
        return [*super().get_readonly_fields(request, obj), "api_console_link"]

    @admin.display(description="API console")
    def api_console_link(self, obj: Connection) -> str:
        url = f"{reverse('admin:api_console')}?connection={obj.pk}"
        return format_html('<a href="{}">Send a Sage API call for this connection</a>', url)

    def get_urls(self):
        def view(function, name):
            return path(
                f"<int:object_id>/{name}/",
                self.admin_site.admin_view(function),
                name=f"records_connection_{name}",
            )

        return [
            view(self.sync_now_view, "sync"),
            view(self.refresh_token_view, "refresh_token"),
            view(self.check_view, "check"),
            view(self.disconnect_view, "disconnect"),
            view(self.progress_view, "progress"),
            *super().get_urls(),
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        connection = self.get_object(request, object_id)
        extra = dict(extra_context or {})
        if connection is not None and self.has_view_permission(request, connection):
            extra.update(self._dashboard_context(request, connection))
        return super().change_view(request, object_id, form_url, extra)

    actions = ["disconnect_selected"]

    def get_actions(self, request):
        # Django's "delete selected" would list every mirrored record as a related object; this action asks
        # once and disconnects each connection (revoke at Sage, event, mirror deleted).
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        if not request.user.has_perm(MANAGE):
            actions.pop("disconnect_selected", None)
        return actions

    @admin.action(description="Disconnect selected connections (revoke at Sage)")
    def disconnect_selected(self, request, queryset):
        if not request.user.has_perm(MANAGE):
            raise PermissionDenied
        connections = list(queryset.select_related("end_user"))
        if request.POST.get("post") == "yes":
            self.delete_queryset(request, queryset)
            messages.success(
                request, f"{len(connections)} connection(s) disconnected and their mirrors deleted."
            )
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": "Disconnect these Sage connections?",
            "connections": connections,
            "opts": self.model._meta,
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/records/disconnect_confirm.html", context)

    def delete_view(self, request, object_id, extra_context=None):
        # One way to delete a connection: the disconnect page (revoke at Sage, event, confirmation).
        return redirect(reverse("admin:records_connection_disconnect", args=[object_id]))

    def _dashboard_context(self, request, connection: Connection) -> dict:
        dashboard = dashboard_for(connection)
        end_user_query = {"end_user__id__exact": connection.end_user_id}
        from api.models import RequestLog
        from connections.models import ConnectionEvent

        links = {
            "contacts": admin_url(Contact, "changelist", query={"connection": connection.pk}),
            "invoices": admin_url(SalesInvoice, "changelist", query={"connection": connection.pk}),
            "payments": admin_url(ContactPayment, "changelist", query={"connection": connection.pk}),
            "events": admin_url(ConnectionEvent, "changelist", query=end_user_query),
            "request_log": admin_url(RequestLog, "changelist", query=end_user_query),
            "sync_runs": admin_url(SyncRun, "changelist", query=end_user_query),
        }
        return {
            "dashboard": dashboard,
            "links": links,
            "can_browse": can_browse(request),
            "can_manage": request.user.has_perm(MANAGE),
            "progress_url": reverse("admin:records_connection_progress", args=[connection.pk]),
        }

    def _action_target(self, request, object_id) -> Connection:
        if request.method != "POST":
            raise PermissionDenied("Actions are POST only.")
        if not request.user.has_perm(MANAGE):
            raise PermissionDenied
        return get_object_or_404(Connection.objects.select_related("end_user"), pk=object_id)

    def _back(self, object_id) -> HttpResponse:
        return redirect(admin_url(Connection, "change", object_id))

    def sync_now_view(self, request, object_id: int):
        connection = self._action_target(request, object_id)
        run = sync.start_sync(connection=connection, trigger="staff", requested_by=request.user)
        if run is None:
            messages.info(request, "A sync of this connection is already running; it was not started twice.")
        else:
            messages.success(request, f"Sync started ({run.get_kind_display().lower()}).")
        return self._back(object_id)

    def refresh_token_view(self, request, object_id: int):
        connection = self._action_target(request, object_id)
        try:
            tokens.refresh_access_token(connection=connection, stale_access_token=None)
        except SageintError as error:
            messages.error(request, f"The token was not refreshed: {error}")
        else:
            messages.success(request, "The access token was refreshed.")
        return self._back(object_id)

    def check_view(self, request, object_id: int):
        connection = self._action_target(request, object_id)
        try:
            response = proxy.request(connection.end_user, "/user", connection=connection)
        except SageintError as error:
            messages.error(request, f"Check failed: {error}")
            return self._back(object_id)
        if response.ok:
            user = response.json()
            who = " ".join(filter(None, [user.get("first_name"), user.get("last_name")])) or user.get("id")
            messages.success(request, f"Sage answered /user: {who} <{user.get('email', '')}>.")
        else:
            messages.error(request, f"Sage answered /user with HTTP {response.status_code}.")
        return self._back(object_id)

    def disconnect_view(self, request, object_id: int):
        if not request.user.has_perm(MANAGE):
            raise PermissionDenied
        connection = get_object_or_404(Connection.objects.select_related("end_user"), pk=object_id)
        if request.method == "POST":
            try:
                revoked = services.disconnect(end_user=connection.end_user)
            except NotConnected:
                messages.info(request, "This connection was already disconnected.")
            else:
                messages.success(
                    request,
                    f"{connection.end_user} is disconnected"
                    + (
                        "; Sage confirmed the revocation."
                        if revoked
                        else "; Sage did not confirm the revocation."
                    )
                    + " Their mirrored records were deleted.",
                )
            return redirect(admin_url(Connection, "changelist"))
        context = {
            **self.admin_site.each_context(request),
            "title": "Disconnect this Sage connection?",
            "connection": connection,
            "counts": dashboard_for(connection).counts_all_businesses,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/records/disconnect_confirm.html", context)

    def progress_view(self, request, object_id: int):
        if not self.has_view_permission(request):
            raise PermissionDenied
        connection = get_object_or_404(Connection, pk=object_id)
        dashboard = dashboard_for(connection)
        last = dashboard.last_finished
        return JsonResponse(
            {
                "running": dashboard.running is not None,
                "pages_done": dashboard.running_pages_done,
                "pages_total": dashboard.running_pages_total,
                "percent": dashboard.progress_percent,
                "last_run": {"id": last.pk, "status": last.status} if last else None,
                "poll_ms": 1000 if settings.DEBUG else 2000,
            }
        )
