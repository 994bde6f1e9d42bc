"""Who connects (EndUser), their Sage connection (Connection), its audit trail and the integration settings.

Secrets are stored only as Fernet ciphertext (`*_encrypted` fields, written and read by crypto.py through
tokens.py and credentials.py); nothing here decrypts.
"""

import time

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

# How long a process trusts its last reading of IntegrationSettings.enabled (read on every call to Sage).
ENABLED_CACHE_SECONDS = 2.0
_enabled_cache: dict = {}


class SageScope(models.TextChoices):
    FULL_ACCESS = "full_access", "Full access (read and write)"
    READONLY = "readonly", "Read only"


class IntegrationSettings(models.Model):
    """The one row of Sage credentials, edited in the admin. Blank credentials → development keys."""

    SINGLETON_ID = 1

    client_id = models.CharField(
        "client ID",
        max_length=200,
        blank=True,
        help_text="From Sage's developer portal. Leave blank (with the secret) to use the development keys.",
    )
    client_secret_encrypted = models.TextField(blank=True, editable=False)
    scope = models.CharField(max_length=20, choices=SageScope.choices, default=SageScope.FULL_ACCESS)
    enabled = models.BooleanField(default=True, help_text="When off, end users cannot connect or call Sage.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "integration settings"
        verbose_name_plural = "integration settings"

    def __str__(self) -> str:
        return "Sage Accounting integration settings"

    def save(self, *args, **kwargs) -> None:
        self.pk = self.SINGLETON_ID
        super().save(*args, **kwargs)
        self.forget_cached_state()

    def delete(self, *args, **kwargs):
        result = super().delete(*args, **kwargs)
        self.forget_cached_state()
        return result

    @classmethod
    def load(cls) -> "IntegrationSettings":
        settings_row, _ = cls.objects.get_or_create(pk=cls.SINGLETON_ID)
        return settings_row

    @classmethod
    def integration_enabled(cls) -> bool:
        """Whether end users may connect and call Sage (no row yet: the default, on).

        Read on every call to Sage, so the answer is kept per process for ENABLED_CACHE_SECONDS: a switch-off
        reaches other processes within that time, and the process that saved it at once (see save()).
        """
        now = time.monotonic()
        cached = _enabled_cache.get("value")
        if cached is not None and now - _enabled_cache["read_at"] < ENABLED_CACHE_SECONDS:
            return cached
        enabled = cls.objects.filter(pk=cls.SINGLETON_ID).values_list("enabled", flat=True).first()
        enabled = True if enabled is None else enabled
        _enabled_cache.update(value=enabled, read_at=now)
        return enabled

    @staticmethod
    def forget_cached_state() -> None:
        _enabled_cache.clear()

    @property
    def has_client_secret(self) -> bool:
        return bool(self.client_secret_encrypted)

    def clean(self) -> None:
        if bool(self.client_id) != self.has_client_secret:
            raise ValidationError(
                "Fill in both the client ID and the client secret, or leave both blank to use the development "
                "keys (tick “Use development keys” to clear a stored secret)."
            )


class EndUser(models.Model):
    """Someone who connects a Sage account: a sageint account, or a user of the company's app (JWT `sub`)."""

    class Kind(models.TextChoices):
        ACCOUNT = "account", "sageint account"
        EXTERNAL = "external", "company app user (user token)"

    kind = models.CharField(max_length=20, choices=Kind.choices)
    external_id = models.CharField(
        max_length=255, help_text="The stable id: the JWT `sub`, or the sageint account's primary key."
    )
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="sage_end_user",
    )
    display_name = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["kind", "external_id"], name="unique_end_user_per_kind")
        ]

    def __str__(self) -> str:
        label = self.display_name or self.external_id
        return f"{label} ({self.get_kind_display()})"

    @property
    def name(self) -> str:
        """The name pages show: the display name, else the stable id."""
        return self.display_name or self.external_id

    @property
    def owner_label(self) -> str:
        """Who a connection belongs to, as pages name them: "Ann Example (customer-1234)", or the account name."""
        if self.kind == self.Kind.EXTERNAL and self.display_name and self.display_name != self.external_id:
            return f"{self.display_name} ({self.external_id})"
        return self.name


class Connection(models.Model):
    """An end user's link to Sage: tokens (encrypted), the Sage user and the chosen business."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Connected"
        RECONNECT_REQUIRED = "reconnect_required", "Reconnect needed"

    end_user = models.OneToOneField(EndUser, on_delete=models.CASCADE, related_name="connection")
    status = models.CharField(max_length=30, choices=Status.choices, default=Status.ACTIVE)
    reconnect_reason = models.CharField(max_length=500, blank=True)

    client_id = models.CharField(max_length=200, help_text="The OAuth client the tokens were issued to.")
    credentials_mode = models.CharField(max_length=30, blank=True)
    scopes = models.CharField(max_length=200, blank=True)
    country = models.CharField(max_length=10, blank=True)

    sage_user_id = models.CharField(max_length=100, blank=True)
    sage_user_email = models.CharField(max_length=255, blank=True)
    sage_user_name = models.CharField(max_length=255, blank=True)

    business_id = models.CharField(max_length=100, blank=True, help_text="Sent as X-Business on every call.")
    business_name = models.CharField(max_length=255, blank=True)
    lead_business_id = models.CharField(max_length=100, blank=True)
    businesses = models.JSONField(default=list, blank=True, help_text='[{"id": ..., "name": ...}]')

    access_token_encrypted = models.TextField(blank=True, editable=False)
    access_token_expires_at = models.DateTimeField(null=True, blank=True)
    # As Sage gave it (expires_in): the refresh margin is capped to a share of it (tokens.refresh_margin).
    access_token_lifetime_seconds = models.PositiveIntegerField(null=True, blank=True, editable=False)
    refresh_token_encrypted = models.TextField(blank=True, editable=False)
    refresh_token_expires_at = models.DateTimeField(null=True, blank=True)
    # Bumped by every write of a new token set (refresh, connect, reconnect): a refresh writes its result only
    # if the row still holds the tokens it read, so nothing written meanwhile is undone (see tokens.py).
    token_generation = models.PositiveIntegerField(default=0, editable=False)
    # SQLite has no row locks: a short lease plays the lock's part there (see tokens.py). The id tells its
    # holder apart, so a process only ever releases its own lease.
    refresh_lease_expires_at = models.DateTimeField(null=True, blank=True, editable=False)
    refresh_lease_id = models.CharField(max_length=32, blank=True, editable=False)

    connected_at = models.DateTimeField(default=timezone.now)
    last_refreshed_at = models.DateTimeField(null=True, blank=True)
    last_refresh_attempt_at = models.DateTimeField(null=True, blank=True)
    refresh_count = models.PositiveIntegerField(default=0)
    refresh_failures = models.PositiveIntegerField(default=0, help_text="Consecutive failed refreshes.")
    last_refresh_error = models.CharField(max_length=500, blank=True)

    def __str__(self) -> str:
        return f"{self.end_user} → {self.business_name or 'Sage'} ({self.get_status_display()})"

    @property
    def needs_reconnect(self) -> bool:
        return self.status == self.Status.RECONNECT_REQUIRED

    @property
    def is_active(self) -> bool:
        return self.status == self.Status.ACTIVE

    def business_by_id(self, business_id: str) -> dict | None:
        return next((b for b in self.businesses if b.get("id") == business_id), None)

    @property
    def access_label(self) -> str:
        """The granted scopes as people read them: "full_access" → "Full access (read and write)"."""
        labels = dict(SageScope.choices)
        return ", ".join(labels.get(scope, scope) for scope in self.scopes.split()) or "—"

    @property
    def listed_businesses(self) -> list[dict]:
        """The businesses for pages and the admin: name, id, and whether each is the lead or the one in use."""
        return [
            {
                "id": business.get("id", ""),
                "name": business.get("name") or business.get("id", ""),
                "is_lead": business.get("id") == self.lead_business_id,
                "in_use": business.get("id") == self.business_id,
            }
            for business in self.businesses or []
        ]


class ConnectionEvent(models.Model):
    """Audit trail: what happened to an end user's connection, and when. Never holds a token or secret."""

    class Kind(models.TextChoices):
        CONNECTED = "connected", "Connected"
        BUSINESS_SWITCHED = "business_switched", "Business switched"
        REFRESHED = "refreshed", "Token refreshed"
        REFRESH_FAILED = "refresh_failed", "Token refresh failed"
        RECONNECT_REQUIRED = "reconnect_required", "Reconnect required"
        DISCONNECTED = "disconnected", "Disconnected"
        REVOKE_FAILED = "revoke_failed", "Token revocation failed"

    end_user = models.ForeignKey(EndUser, on_delete=models.CASCADE, related_name="connection_events")
    kind = models.CharField(max_length=30, choices=Kind.choices)
    detail = models.CharField(max_length=500, blank=True)
    business_id = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        # A "refreshed" row is written about every 5 minutes per active connection, so this table grows fast:
        # the admin's list, its filters and an end user's history must stay index reads.
        indexes = [
            models.Index(fields=["-created_at", "-id"], name="connevent_newest_first"),
            models.Index(fields=["end_user", "-created_at"], name="connevent_end_user_newest"),
            models.Index(fields=["kind", "-created_at"], name="connevent_kind_newest"),
            # An end user's latest change other than a routine refresh (the management API's `updated_at`),
            # without reading past months of "refreshed" rows.
            models.Index(
                fields=["end_user", "-created_at"],
                condition=~models.Q(kind="refreshed"),
                name="connevent_end_user_changes",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} · {self.end_user} · {self.created_at:%Y-%m-%d %H:%M:%S}"


class ConnectSession(models.Model):
    """A short-lived, single-use ticket the company's backend asks for so one of its users can connect.

    Only a SHA-256 hash of the token is kept (the token is handed out once, in the API's answer). Opening the
    portal with it uses it up; the session row stays, because the portal's pages read the allowed origins, the
    return URL and `auto_return` from it for as long as the browser is bound to it.
    """

    end_user = models.ForeignKey(EndUser, on_delete=models.CASCADE, related_name="connect_sessions")
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    # Exact origins ("https://app.example.com:8443") the portal may post its outcome to; never "*".
    allowed_origins = models.JSONField(default=list)
    return_url = models.URLField(max_length=2000)
    auto_return = models.BooleanField(default=False)
    created_by_key = models.ForeignKey(
        "projects.ApiKey", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["expires_at"], name="connect_session_expiry")]

    def __str__(self) -> str:
        return f"Connect session for {self.end_user} ({self.created_at:%Y-%m-%d %H:%M})"

    @property
    def is_expired(self) -> bool:
        return self.expires_at <= timezone.now()
