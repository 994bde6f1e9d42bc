"""Admin: the integration settings (one row, secret write-only) and read-only views of end users,
connections and their audit events. No token or secret is ever a field here."""

from django import forms
from django.conf import settings
from django.contrib import admin
from django.db import models
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.html import format_html

from . import services
from .credentials import CredentialsMode, current_mode, redirect_url, sage_credentials, set_client_secret
from .models import Connection, ConnectionEvent, ConnectSession, EndUser, IntegrationSettings
from .templatetags.connection_display import business_list, message_with_details


class IntegrationSettingsForm(forms.ModelForm):
    client_secret = forms.CharField(
        label="Client secret",
        required=False,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="Write-only: it is stored encrypted and never shown. Leave blank to keep the current secret.",
    )
    use_development_keys = forms.BooleanField(
        required=False,
        label="Use development keys",
        help_text="Clear the client ID and secret and fall back to the development keys.",
    )

    class Meta:
        model = IntegrationSettings
        fields = ["client_id", "client_secret", "use_development_keys", "scope", "enabled"]

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("use_development_keys"):
            cleaned["client_id"] = ""
            self.instance.client_id = ""
        # Half-filled credentials are refused by IntegrationSettings.clean(), once the secret is on the instance.
        return cleaned

    def _post_clean(self):
        # Put the new secret on the instance before the model's own clean() checks that both are set.
        cleaned = getattr(self, "cleaned_data", {})
        if cleaned.get("use_development_keys"):
            set_client_secret(self.instance, "")
        elif cleaned.get("client_secret"):
            set_client_secret(self.instance, cleaned["client_secret"])
        super()._post_clean()


@admin.register(IntegrationSettings)
class IntegrationSettingsAdmin(admin.ModelAdmin):
    form = IntegrationSettingsForm
    readonly_fields = ["credentials_in_effect", "redirect_url_field", "sage_endpoints", "secret_stored"]
    fieldsets = [
        (
            "Sage application",
            {
                "fields": [
                    "credentials_in_effect",
                    "client_id",
                    "client_secret",
                    "secret_stored",
                    "use_development_keys",
                ]
            },
        ),
        ("Register this at Sage", {"fields": ["redirect_url_field"]}),
        ("Connections", {"fields": ["scope", "enabled", "sage_endpoints"]}),
    ]

    def has_add_permission(self, request) -> bool:
        return False  # the one row is created on first visit

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def changelist_view(self, request, extra_context=None):
        if not self.has_view_or_change_permission(request):
            return super().changelist_view(request, extra_context)
        integration = IntegrationSettings.load()
        return redirect(reverse("admin:connections_integrationsettings_change", args=[integration.pk]))

    @admin.display(description="Credentials in effect")
    def credentials_in_effect(self, obj: IntegrationSettings) -> str:
        mode = current_mode(obj)
        label = CredentialsMode.LABELS[mode]
        if mode == CredentialsMode.SANDBOX and not settings.SAGE_SANDBOX_ENABLED:
            return f"{label} — but the sandbox is switched off here (SAGE_SANDBOX_ENABLED): enter Sage credentials"
        return label

    @admin.display(description="Client secret stored")
    def secret_stored(self, obj: IntegrationSettings) -> str:
        return "yes (hidden)" if obj.has_client_secret else "no"

    @admin.display(description="Redirect URL")
    def redirect_url_field(self, obj: IntegrationSettings) -> str:
        return format_html(
            '<code id="sage-redirect-url">{}</code> '
            '<button type="button" class="button" '
            "onclick=\"navigator.clipboard.writeText(document.getElementById('sage-redirect-url').textContent)"
            ".then(() => {{ this.textContent = 'Copied'; }})\">Copy</button>"
            '<div class="help">In Sage\'s developer portal: My Account → Applications → your app → '
            "Callback URLs. It must match character for character.</div>",
            redirect_url(),
        )

    @admin.display(description="Sage endpoints")
    def sage_endpoints(self, obj: IntegrationSettings) -> str:
        credentials = sage_credentials(obj) if obj.pk else None
        if credentials is None:
            return "—"
        return format_html(
            "Authorize: <code>{}</code><br>Token: <code>{}</code><br>API: <code>{}</code>",
            credentials.auth_url,
            credentials.token_url,
            credentials.api_url,
        )


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(EndUser)
class EndUserAdmin(ReadOnlyAdmin):
    list_display = ["__str__", "kind", "external_id", "created_at"]
    list_filter = ["kind"]
    search_fields = ["external_id", "display_name"]


class CredentialsModeFilter(admin.SimpleListFilter):
    """Filter by the credentials a connection was made with, named as people read them (not "dev_env")."""

    title = "credentials"
    parameter_name = "credentials_mode"

    def lookups(self, request, model_admin):
        return list(CredentialsMode.LABELS.items())

    def queryset(self, request, queryset):
        return queryset.filter(credentials_mode=self.value()) if self.value() else queryset


@admin.register(Connection)
class ConnectionAdmin(ReadOnlyAdmin):
    list_display = [
        "end_user",
        "status",
        "business_name",
        "sage_user_email",
        "connected_at",
        "last_refreshed_at",
    ]
    list_filter = ["status", CredentialsModeFilter]
    list_select_related = ["end_user"]
    search_fields = ["end_user__external_id", "sage_user_email", "business_name"]
    # Listed explicitly so the encrypted token columns can never appear. Codes and JSON are shown as people
    # read them (the *_shown methods below); the raw values stay in the management API.
    fields = [
        "end_user",
        "status",
        "reconnect_reason_shown",
        "credentials_mode_shown",
        "client_id",
        "access",
        "country",
        "sage_user_id",
        "sage_user_email",
        "sage_user_name",
        "business_id",
        "business_name",
        "businesses_shown",
        "connected_at",
        "access_token_expires_at",
        "refresh_token_expires_at",
        "last_refreshed_at",
        "last_refresh_attempt_at",
        "refresh_count",
        "refresh_failures",
        "last_refresh_error_shown",
    ]
    readonly_fields = [
        "reconnect_reason_shown",
        "credentials_mode_shown",
        "access",
        "businesses_shown",
        "last_refresh_error_shown",
    ]

    @admin.display(description="Reconnect reason")
    def reconnect_reason_shown(self, obj: Connection) -> str:
        return message_with_details(obj.reconnect_reason) if obj.reconnect_reason else "—"

    @admin.display(description="Credentials")
    def credentials_mode_shown(self, obj: Connection) -> str:
        return CredentialsMode.LABELS.get(obj.credentials_mode, obj.credentials_mode) or "—"

    @admin.display(description="Access")
    def access(self, obj: Connection) -> str:
        return obj.access_label

    @admin.display(description="Businesses")
    def businesses_shown(self, obj: Connection) -> str:
        return business_list(obj)

    @admin.display(description="Last refresh error")
    def last_refresh_error_shown(self, obj: Connection) -> str:
        return message_with_details(obj.last_refresh_error) if obj.last_refresh_error else "—"

    # Deleting a connection here is disconnecting it: revoked at Sage, tokens gone, an event written. Never a
    # bare row delete (which would leave a live grant at Sage and nothing in the audit trail).
    def delete_model(self, request, obj: Connection) -> None:
        services.disconnect(end_user=obj.end_user)

    def delete_queryset(self, request, queryset) -> None:
        for connection in queryset.select_related("end_user"):
            self.delete_model(request, connection)


@admin.register(ConnectionEvent)
class ConnectionEventAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "kind", "end_user", "business_id", "detail_shown"]
    list_filter = ["kind"]
    list_select_related = ["end_user"]
    search_fields = ["end_user__external_id", "detail"]
    date_hierarchy = "created_at"
    # One "refreshed" row per connection every few minutes makes this table large: the list pages through
    # the (-created_at, -id) index, and skips the COUNT(*) of the whole table on filtered views.
    show_full_result_count = False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description="Detail")
    def detail_shown(self, obj: ConnectionEvent) -> str:
        return message_with_details(obj.detail)


@admin.register(ConnectSession)
class ConnectSessionAdmin(ReadOnlyAdmin):
    """Who was sent to the portal, by which key, from where, and whether they opened it (never the token)."""

    list_display = ["created_at", "end_user", "state", "created_by_key", "origins", "return_url"]
    list_select_related = ["end_user", "created_by_key"]
    search_fields = ["end_user__external_id", "return_url"]
    date_hierarchy = "created_at"
    exclude = ["token_hash"]
    formfield_overrides = {
        models.URLField: {"assume_scheme": "https"}
    }  # read-only here; silences Django 6's notice

    @admin.display(description="State")
    def state(self, obj: ConnectSession) -> str:
        if obj.used_at:
            return f"opened {obj.used_at:%Y-%m-%d %H:%M}"
        return "expired" if obj.is_expired else f"open until {obj.expires_at:%H:%M}"

    @admin.display(description="Allowed origins")
    def origins(self, obj: ConnectSession) -> str:
        return ", ".join(obj.allowed_origins)
