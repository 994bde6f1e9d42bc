"""Webhook endpoints (where to send, signed with which secrets), the outbox (events and one delivery per
endpoint, written in the transaction of the change they report) and the log of every attempt."""

from __future__ import annotations

import uuid

from django.db import models
from django.utils import timezone

from connections import crypto


class EventType(models.TextChoices):
    CONNECTION_CREATED = "connection.created", "connection.created — a user connected Sage"
    CONNECTION_RECONNECT_NEEDED = (
        "connection.reconnect_needed",
        "connection.reconnect_needed — Sage stopped accepting a connection",
    )
    CONNECTION_RECOVERED = "connection.recovered", "connection.recovered — a broken connection was made again"
    CONNECTION_DISCONNECTED = "connection.disconnected", "connection.disconnected — a connection was removed"
    SYNC_SUCCEEDED = "sync.succeeded", "sync.succeeded — a sync of a user's Sage records finished"
    SYNC_FAILED = "sync.failed", "sync.failed — a sync of a user's Sage records failed"
    WORKFLOW_RUN_SUCCEEDED = "workflow_run.succeeded", "workflow_run.succeeded — a workflow run finished"
    WORKFLOW_RUN_FAILED = "workflow_run.failed", "workflow_run.failed — a workflow run stopped on an error"


class Endpoint(models.Model):
    url = models.URLField(
        "URL", max_length=2000, help_text="Where sageint POSTs the events (https in production)."
    )
    description = models.CharField(max_length=200, blank=True)
    event_types = models.JSONField("events", default=list, help_text="The event types sent to this URL.")
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    # Start of the current run of failed attempts (None while the endpoint answers): an endpoint failing for
    # WEBHOOK_DISABLE_AFTER_SECONDS is switched off.
    failing_since = models.DateTimeField(null=True, blank=True, editable=False)
    disabled_reason = models.CharField(max_length=500, blank=True, editable=False)

    class Meta:
        verbose_name = "webhook endpoint"
        ordering = ["id"]

    def __str__(self) -> str:
        return self.url

    def wants(self, event_type: str) -> bool:
        return self.enabled and event_type in self.event_types

    def signing_secrets(self, now=None) -> list[str]:
        """The secrets that sign right now: the current one first, then any still in a rotation's overlap."""
        now = now or timezone.now()
        current = self.secrets.filter(models.Q(expires_at__isnull=True) | models.Q(expires_at__gt=now))
        return [crypto.decrypt(secret.secret_encrypted) for secret in current.order_by("-created_at", "-id")]


class EndpointSecret(models.Model):
    endpoint = models.ForeignKey(Endpoint, on_delete=models.CASCADE, related_name="secrets")
    secret_encrypted = models.TextField(editable=False)
    visible_prefix = models.CharField("secret starts with", max_length=20, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    expires_at = models.DateTimeField(
        null=True, blank=True, editable=False, help_text="Stops signing at this time (set by a rotation)."
    )

    class Meta:
        verbose_name = "signing secret"
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.visible_prefix}…"


class EndpointNotice(models.Model):
    """Things that happened to an endpoint that an administrator should see: disabled, secret rotated."""

    class Kind(models.TextChoices):
        DISABLED = "disabled", "Disabled after failing"
        SECRET_ROTATED = "secret_rotated", "Signing secret rotated"

    endpoint = models.ForeignKey(Endpoint, on_delete=models.CASCADE, related_name="notices")
    kind = models.CharField(max_length=30, choices=Kind.choices)
    detail = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "endpoint notice"
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} · {self.endpoint} · {self.created_at:%Y-%m-%d %H:%M}"


def new_event_id() -> str:
    return f"evt_{uuid.uuid4().hex}"


class Event(models.Model):
    """One thing that happened, as it will be sent: the body is frozen when the event is written, so every
    attempt and every endpoint gets the same bytes (and receivers can deduplicate on `webhook-id`)."""

    event_id = models.CharField(max_length=40, unique=True, default=new_event_id, editable=False)
    type = models.CharField(max_length=60, choices=EventType.choices)
    end_user_id = models.CharField(max_length=255)
    body = models.TextField(help_text="The JSON sent, byte for byte.")
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.type} · {self.end_user_id} · {self.event_id}"


class Delivery(models.Model):
    """The outbox row: one event for one endpoint, and where its delivery stands."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SUCCEEDED = "succeeded", "Delivered"
        FAILED = "failed", "Failed (gave up)"

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="deliveries")
    endpoint = models.ForeignKey(Endpoint, on_delete=models.CASCADE, related_name="deliveries")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    attempt_count = models.PositiveIntegerField(default=0)
    # Index into WEBHOOK_RETRY_SCHEDULE_SECONDS of the next wait; a Resend starts the schedule again.
    retry_step = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    # Set while a worker is sending, so two workers never send the same row at once.
    claimed_until = models.DateTimeField(null=True, blank=True)
    # When a delivery task was last queued; the periodic sweep queues rows whose task was never queued (broker
    # down) or seems lost.
    queued_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "deliveries"
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="delivery_due")]

    def __str__(self) -> str:
        return f"{self.event.type} → {self.endpoint} ({self.get_status_display()})"


class DeliveryAttempt(models.Model):
    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempts")
    created_at = models.DateTimeField(default=timezone.now)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(default=0)
    response_excerpt = models.TextField(blank=True, help_text="The first kilobyte of the answer.")
    error = models.CharField(max_length=500, blank=True)
    succeeded = models.BooleanField(default=False)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.status_code or self.error[:40]} in {self.duration_ms} ms"
