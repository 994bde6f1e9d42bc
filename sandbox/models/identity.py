"""Sandbox identities and OAuth state: Sage users, their businesses, registered apps, codes and tokens,
and the test controls (fault injection, rate-limit windows) that must hold across processes."""

import hashlib
import hmac
import uuid

from django.db import models
from django.utils import timezone

__all__ = [
    "AccessToken",
    "AuthorizationCode",
    "Business",
    "BusinessMembership",
    "FaultRule",
    "Grant",
    "RateLimitWindow",
    "RefreshToken",
    "SandboxApp",
    "SandboxUser",
    "hash_secret",
    "new_sage_id",
]

# Country ids as Sage's Business.country uses them, with the names Sage displays.
COUNTRY_NAMES = {
    "CA": "Canada",
    "DE": "Germany",
    "ES": "Spain",
    "FR": "France",
    "GB": "United Kingdom (GB)",
    "IE": "Ireland",
    "US": "United States",
}

SCOPE_FULL_ACCESS = "full_access"
SCOPE_READONLY = "readonly"


def new_sage_id() -> str:
    """Sage's ids are 32 lowercase hex characters."""
    return uuid.uuid4().hex


def hash_secret(value: str) -> str:
    """Codes, tokens and client secrets are kept as sha256: a leaked database holds no usable credential."""
    return hashlib.sha256(value.encode()).hexdigest()


class SandboxUser(models.Model):
    """A Sage user (definitions.User): who signs in on the consent page and owns the tokens."""

    id = models.CharField(primary_key=True, max_length=32, default=new_sage_id, editable=False)
    first_name = models.CharField(max_length=100)
    last_name = models.CharField(max_length=100)
    initials = models.CharField(max_length=10, blank=True)
    email = models.EmailField(unique=True)
    locale = models.CharField(max_length=10, default="en-GB")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["created_at", "email"]

    def __str__(self) -> str:
        return self.displayed_as

    @property
    def displayed_as(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    def businesses(self) -> models.QuerySet["Business"]:
        return Business.objects.filter(memberships__user=self).order_by("memberships__created_at", "name")

    def lead_business(self) -> "Business | None":
        # Sage's lead business is the first one the user created; if it is gone, the next oldest takes over.
        membership = (
            self.memberships.select_related("business")
            .order_by("-is_lead", "created_at", "business__name")
            .first()
        )
        return membership.business if membership else None


class Business(models.Model):
    """A Sage business (definitions.Business). Accounting data hangs off it with a ForeignKey."""

    id = models.CharField(primary_key=True, max_length=32, default=new_sage_id, editable=False)
    name = models.CharField(max_length=200)
    address_line_1 = models.CharField(max_length=200, blank=True)
    address_line_2 = models.CharField(max_length=200, blank=True)
    city = models.CharField(max_length=100, blank=True)
    postal_code = models.CharField(max_length=20, blank=True)
    region = models.CharField(max_length=100, blank=True)
    country_code = models.CharField(max_length=2, default="GB", choices=sorted(COUNTRY_NAMES.items()))
    telephone = models.CharField(max_length=50, blank=True)
    mobile = models.CharField(max_length=50, blank=True)
    website = models.CharField(max_length=200, blank=True)
    is_demo = models.BooleanField(default=True)
    ni_based = models.BooleanField(default=False)
    # Sage answers 401 "No active subscription. (MSE)" for a business whose trial ran out.
    subscription_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["created_at", "name"]
        verbose_name_plural = "businesses"

    def __str__(self) -> str:
        return self.name

    @property
    def displayed_as(self) -> str:
        return self.name

    @property
    def country_name(self) -> str:
        return COUNTRY_NAMES.get(self.country_code, self.country_code)


class BusinessMembership(models.Model):
    """A user's access to a business; exactly one of a user's memberships is marked as the lead business."""

    user = models.ForeignKey(SandboxUser, on_delete=models.CASCADE, related_name="memberships")
    business = models.ForeignKey(Business, on_delete=models.CASCADE, related_name="memberships")
    is_lead = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "business"], name="sandbox_membership_unique"),
            models.UniqueConstraint(
                fields=["user"], condition=models.Q(is_lead=True), name="sandbox_membership_one_lead"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} → {self.business}{' (lead)' if self.is_lead else ''}"


class SandboxApp(models.Model):
    """An app registered with the sandbox (as at developer.sage.com). The built-in development app is not a
    row: it comes from settings at request time (see sandbox.oauth.find_app)."""

    name = models.CharField(max_length=200)
    client_id = models.CharField(max_length=200, unique=True)
    client_secret_hash = models.CharField(max_length=64, editable=False)
    callback_urls = models.TextField(
        help_text="One callback URL per line; redirect_uri must match one exactly."
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]
        verbose_name = "sandbox app"

    def __str__(self) -> str:
        return self.name

    @property
    def callback_url_list(self) -> list[str]:
        return [line.strip() for line in self.callback_urls.splitlines() if line.strip()]

    def set_client_secret(self, secret: str) -> None:
        self.client_secret_hash = hash_secret(secret)

    def check_client_secret(self, secret: str) -> bool:
        return bool(self.client_secret_hash) and hmac.compare_digest(
            self.client_secret_hash, hash_secret(secret)
        )


class AuthorizationCode(models.Model):
    """A code from the consent page: single use, short-lived, bound to the client and redirect URI."""

    code_hash = models.CharField(max_length=64, unique=True)
    client_id = models.CharField(max_length=200)
    redirect_uri = models.TextField()
    user = models.ForeignKey(SandboxUser, on_delete=models.CASCADE, related_name="authorization_codes")
    scope = models.CharField(max_length=50)
    country = models.CharField(max_length=2, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"code for {self.user} ({self.client_id})"


class Grant(models.Model):
    """One consent of a user to a client: the family of access and refresh tokens issued from one code.
    Revoking the refresh token revokes the grant and with it every token of the family."""

    client_id = models.CharField(max_length=200)
    user = models.ForeignKey(SandboxUser, on_delete=models.CASCADE, related_name="grants")
    scope = models.CharField(max_length=50)
    created_at = models.DateTimeField(default=timezone.now)
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.user} → {self.client_id} ({self.scope})"


class AccessToken(models.Model):
    token_hash = models.CharField(max_length=64, unique=True)
    grant = models.ForeignKey(Grant, on_delete=models.CASCADE, related_name="access_tokens")
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"access token of {self.grant}"

    def is_usable(self, now=None) -> bool:
        now = now or timezone.now()
        return self.revoked_at is None and self.grant.revoked_at is None and self.expires_at > now


class RefreshToken(models.Model):
    token_hash = models.CharField(max_length=64, unique=True)
    grant = models.ForeignKey(Grant, on_delete=models.CASCADE, related_name="refresh_tokens")
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    # Set when the token is exchanged: Sage rotates refresh tokens, so a used one is dead.
    used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"refresh token of {self.grant}"

    def is_usable(self, now=None) -> bool:
        now = now or timezone.now()
        return self.used_at is None and self.grant.revoked_at is None and self.expires_at > now


class FaultRule(models.Model):
    """Make the next N API calls fail this way. Rows, so a test, a management command or an HTTP call in
    one process can break the sandbox served by another."""

    KIND_500 = "500"
    KIND_503 = "503"
    KIND_HANG = "hang"
    KIND_DROP = "drop"
    KIND_CHOICES = [
        (KIND_500, "Answer 500 Internal Server Error"),
        (KIND_503, "Answer 503 Service Unavailable"),
        (KIND_HANG, "Hang (sleep) before answering"),
        (KIND_DROP, "Drop the connection without an answer"),
    ]

    kind = models.CharField(max_length=10, choices=KIND_CHOICES)
    remaining = models.PositiveIntegerField(default=1, help_text="How many more calls this fault hits.")
    hang_seconds = models.FloatField(default=30.0, help_text="Only for 'hang'.")
    path_prefix = models.CharField(
        max_length=200, blank=True, help_text="Only calls whose API path (e.g. /contacts) starts with this."
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        where = f" on {self.path_prefix}" if self.path_prefix else ""
        return f"{self.get_kind_display()} x {self.remaining}{where}"


class RateLimitWindow(models.Model):
    """Requests counted per business in fixed 60-second windows (Sage throttles per business)."""

    business_id = models.CharField(max_length=32)
    window_start = models.DateTimeField()
    count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["business_id", "window_start"], name="sandbox_rate_window_unique")
        ]

    def __str__(self) -> str:
        return f"{self.business_id} @ {self.window_start:%H:%M}: {self.count}"
