"""Admin for the sandbox's identities, registered apps, grants and injected faults.
(Accounting models may be registered here too, by the work that owns them.)"""

import secrets

from django import forms
from django.contrib import admin, messages
from django.template.response import TemplateResponse
from django.utils import timezone

from sandbox.models import Business, BusinessMembership, FaultRule, Grant, SandboxApp, SandboxUser


def confirmation_page(modeladmin, request, queryset, *, action: str, title: str, consequence: str):
    """Django's pattern for a destructive admin action: the first POST shows what will happen; the action runs only
    when that page is sent back (CSRF-checked, as every admin POST). None once confirmed."""
    if request.POST.get("confirmed") == "yes":
        return None
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": title,
        "consequence": consequence,
        "queryset": queryset,
        "action": action,
        "opts": modeladmin.model._meta,
    }
    return TemplateResponse(request, "sandbox/admin_confirm_action.html", context)


class SandboxAppAddForm(forms.ModelForm):
    client_secret = forms.CharField(
        required=False,
        strip=True,
        widget=forms.PasswordInput(render_value=False),
        help_text="Leave empty to generate one. It is shown once after saving; only its hash is kept.",
    )

    class Meta:
        model = SandboxApp
        fields = ["name", "client_id", "client_secret", "callback_urls"]


@admin.register(SandboxApp)
class SandboxAppAdmin(admin.ModelAdmin):
    list_display = ["name", "client_id", "created_at"]
    search_fields = ["name", "client_id"]
    fields = ["name", "client_id", "callback_urls", "created_at"]
    readonly_fields = ["created_at"]
    actions = ["generate_new_secret"]

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = SandboxAppAddForm
            kwargs["fields"] = SandboxAppAddForm.Meta.fields
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fields(self, request, obj=None):
        return SandboxAppAddForm.Meta.fields if obj is None else self.fields

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else self.readonly_fields

    def save_model(self, request, obj, form, change):
        if not change:
            secret = form.cleaned_data.get("client_secret") or secrets.token_urlsafe(30)
            obj.set_client_secret(secret)
            super().save_model(request, obj, form, change)
            self._show_secret_once(request, obj, secret)
            return
        super().save_model(request, obj, form, change)

    @admin.action(description="Generate a new client secret (shown once)", permissions=["change"])
    def generate_new_secret(self, request, queryset):
        page = confirmation_page(
            self,
            request,
            queryset,
            action="generate_new_secret",
            title="Generate new client secrets",
            consequence="The current secret of each app below stops working at once: every integration using it "
            "fails until it is given the new one.",
        )
        if page is not None:
            return page
        for app in queryset:
            secret = secrets.token_urlsafe(30)
            app.set_client_secret(secret)
            app.save(update_fields=["client_secret_hash"])
            self._show_secret_once(request, app, secret)

    @staticmethod
    def _show_secret_once(request, app, secret):
        messages.warning(
            request,
            f"Client secret of {app.name} ({app.client_id}): {secret} — copy it now, it is not shown again.",
        )


class MembershipInline(admin.TabularInline):
    model = BusinessMembership
    extra = 0


@admin.register(SandboxUser)
class SandboxUserAdmin(admin.ModelAdmin):
    list_display = ["displayed_as", "email", "id", "locale"]
    search_fields = ["email", "first_name", "last_name", "id"]
    inlines = [MembershipInline]


@admin.register(Business)
class BusinessAdmin(admin.ModelAdmin):
    list_display = ["name", "country_code", "id", "subscription_active", "is_demo"]
    list_filter = ["country_code", "subscription_active"]
    search_fields = ["name", "id"]
    inlines = [MembershipInline]


@admin.register(Grant)
class GrantAdmin(admin.ModelAdmin):
    list_display = ["user", "client_id", "scope", "created_at", "revoked_at"]
    list_filter = ["scope", "client_id"]
    readonly_fields = ["user", "client_id", "scope", "created_at", "revoked_at"]
    actions = ["revoke"]

    def has_add_permission(self, request):
        return False

    @admin.action(description="Revoke (ends every token of the grant)", permissions=["change"])
    def revoke(self, request, queryset):
        page = confirmation_page(
            self,
            request,
            queryset,
            action="revoke",
            title="Revoke grants",
            consequence="Every access and refresh token of the grants below stops working at once: the "
            "connections made with them must be connected again.",
        )
        if page is not None:
            return page
        queryset.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())


@admin.register(FaultRule)
class FaultRuleAdmin(admin.ModelAdmin):
    list_display = ["kind", "remaining", "path_prefix", "hang_seconds", "created_at"]
