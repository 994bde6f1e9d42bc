"""Webhooks in the admin: endpoints (secret shown once, rotation with an overlap), the outbox and every attempt,
with Resend."""

from __future__ import annotations

from datetime import timedelta

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from webhooks import delivery as delivery_service
from webhooks import endpoints, safe_http
from webhooks.models import Delivery, DeliveryAttempt, Endpoint, EndpointNotice, Event, EventType


class EndpointForm(forms.ModelForm):
    url = forms.URLField(label="URL", max_length=2000, assume_scheme="https")
    event_types = forms.MultipleChoiceField(
        label="Events", choices=EventType.choices, widget=forms.CheckboxSelectMultiple
    )

    class Meta:
        model = Endpoint
        fields = ["url", "description", "event_types", "enabled"]

    def clean_url(self) -> str:
        url = self.cleaned_data["url"]
        try:
            safe_http.check_url(url)
        except safe_http.TargetRefused as refused:
            raise ValidationError(str(refused)) from None
        return url


class RotateSecretForm(forms.Form):
    overlap_hours = forms.IntegerField(
        label="Overlap (hours)",
        min_value=0,
        max_value=24 * 30,
        initial=24,
        help_text="How long the current secret keeps signing beside the new one (both signatures are sent), "
        "so your receiver can switch to the new secret without missing a message. 0 ends it now.",
    )


def _secret_page(request, admin_site, opts, *, endpoint: Endpoint, secret: str, title: str):
    # The secret is rendered into this one answer only: not a message (cookie/session), not a URL, not a log.
    context = {**admin_site.each_context(request), "opts": opts, "title": title, "endpoint": endpoint}
    context["secret"] = secret
    response = TemplateResponse(request, "webhooks/secret_created.html", context)
    response["Cache-Control"] = "no-store"
    return response


class NoticeInline(admin.TabularInline):
    model = EndpointNotice
    extra = 0
    can_delete = False
    fields = readonly_fields = ("created_at", "kind", "detail")

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Endpoint)
class EndpointAdmin(admin.ModelAdmin):
    form = EndpointForm
    list_display = ("url", "description", "events", "enabled", "failing_since", "created_at")
    list_filter = ("enabled",)
    search_fields = ("url", "description")
    readonly_fields = ("signing_secrets_field", "failing_since", "disabled_reason", "created_at")
    inlines = [NoticeInline]

    def get_inlines(self, request, obj):
        return self.inlines if obj is not None else []

    def get_fields(self, request, obj=None):
        fields = ["url", "description", "event_types", "enabled"]
        return fields if obj is None else [*fields, *self.readonly_fields]

    @admin.display(description="events")
    def events(self, obj: Endpoint) -> str:
        return ", ".join(obj.event_types)

    @admin.display(description="Signing secrets")
    def signing_secrets_field(self, obj: Endpoint) -> str:
        rows = format_html_join(
            "",
            "<li><code>{}…</code> created {} {}</li>",
            (
                (secret.visible_prefix, f"{secret.created_at:%Y-%m-%d %H:%M}", _expiry(secret.expires_at))
                for secret in obj.secrets.all()
            ),
        )
        rotate = reverse("admin:webhooks_endpoint_rotate_secret", args=[obj.pk])
        return format_html('<ul>{}</ul><a class="button" href="{}">Rotate signing secret</a>', rows, rotate)

    def save_model(self, request, obj, form, change):
        if obj.enabled and "enabled" in form.changed_data:
            obj.disabled_reason = ""
            obj.failing_since = None
        super().save_model(request, obj, form, change)
        if not change:
            obj._secret_shown_once = endpoints.add_secret(endpoint=obj)

    def response_add(self, request, obj, post_url_continue=None):
        return _secret_page(
            request,
            self.admin_site,
            self.opts,
            endpoint=obj,
            secret=obj._secret_shown_once,
            title="Webhook endpoint created",
        )

    def get_urls(self):
        rotate = path(
            "<int:endpoint_id>/rotate-secret/",
            self.admin_site.admin_view(self.rotate_secret_view),
            name="webhooks_endpoint_rotate_secret",
        )
        return [rotate, *super().get_urls()]

    def rotate_secret_view(self, request, endpoint_id: int):
        endpoint = get_object_or_404(Endpoint, pk=endpoint_id)
        if not self.has_change_permission(request, endpoint):
            raise PermissionDenied
        form = RotateSecretForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            secret = endpoints.rotate_secret(
                endpoint=endpoint, overlap=timedelta(hours=form.cleaned_data["overlap_hours"])
            )
            return _secret_page(
                request,
                self.admin_site,
                self.opts,
                endpoint=endpoint,
                secret=secret,
                title="Signing secret rotated",
            )
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": f"Rotate the signing secret of {endpoint}",
            "endpoint": endpoint,
            "form": form,
        }
        return TemplateResponse(request, "webhooks/rotate_secret.html", context)


def _expiry(expires_at) -> str:
    return f"— signs until {expires_at:%Y-%m-%d %H:%M} UTC" if expires_at else "— current"


@admin.register(EndpointNotice)
class EndpointNoticeAdmin(admin.ModelAdmin):
    list_display = ("created_at", "endpoint", "kind", "detail")
    list_filter = ("kind",)

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class AttemptInline(admin.TabularInline):
    model = DeliveryAttempt
    extra = 0
    can_delete = False
    fields = readonly_fields = (
        "created_at",
        "succeeded",
        "status_code",
        "duration_ms",
        "error",
        "response_excerpt",
    )

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = (
        "created_at",
        "event_type",
        "end_user_id",
        "endpoint",
        "status",
        "attempt_count",
        "last_status_code",
        "next_attempt_at",
    )
    list_filter = ("status", "event__type", "endpoint")
    search_fields = ("event__event_id", "event__end_user_id")
    list_select_related = ("event", "endpoint")
    readonly_fields = (
        "event",
        "endpoint",
        "status",
        "attempt_count",
        "last_status_code",
        "next_attempt_at",
        "delivered_at",
        "created_at",
        "body",
    )
    fields = readonly_fields
    inlines = [AttemptInline]
    actions = ["resend_deliveries"]
    change_form_template = "webhooks/delivery_change_form.html"

    def has_add_permission(self, request) -> bool:
        return False

    @admin.display(description="event", ordering="event__type")
    def event_type(self, obj: Delivery) -> str:
        return obj.event.type

    @admin.display(description="end user id", ordering="event__end_user_id")
    def end_user_id(self, obj: Delivery) -> str:
        return obj.event.end_user_id

    @admin.display(description="body sent")
    def body(self, obj: Delivery) -> str:
        return format_html(
            "<pre style='white-space: pre-wrap; overflow-wrap: anywhere'>{}</pre>", obj.event.body
        )

    def get_urls(self):
        resend = path(
            "<int:delivery_id>/resend/",
            self.admin_site.admin_view(self.resend_view),
            name="webhooks_delivery_resend",
        )
        return [resend, *super().get_urls()]

    def resend_view(self, request, delivery_id: int):
        if request.method != "POST" or not self.has_change_permission(request):
            raise PermissionDenied
        delivery = get_object_or_404(Delivery, pk=delivery_id)
        with transaction.atomic():
            delivery_service.resend(delivery=delivery)
        self.message_user(request, "Queued to be sent again now.", messages.SUCCESS)
        return redirect(reverse("admin:webhooks_delivery_change", args=[delivery.pk]))

    @admin.action(description="Resend selected deliveries")
    def resend_deliveries(self, request, queryset):
        with transaction.atomic():
            for delivery in queryset:
                delivery_service.resend(delivery=delivery)
        self.message_user(
            request, f"{queryset.count()} deliveries queued to be sent again.", messages.SUCCESS
        )


class DeliveryInline(admin.TabularInline):
    model = Delivery
    extra = 0
    can_delete = False
    fields = readonly_fields = ("endpoint", "status", "attempt_count", "last_status_code", "next_attempt_at")
    show_change_link = True

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    list_display = ("created_at", "type", "end_user_id", "event_id")
    list_filter = ("type",)
    search_fields = ("event_id", "end_user_id")
    fields = readonly_fields = ("event_id", "type", "end_user_id", "created_at", "body")
    inlines = [DeliveryInline]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
