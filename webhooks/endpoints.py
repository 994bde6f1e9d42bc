"""Endpoint secrets: created with the endpoint, rotated with an overlap, shown once by the admin."""

from __future__ import annotations

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from connections import crypto
from webhooks.models import Endpoint, EndpointNotice, EndpointSecret
from webhooks.signing import SECRET_PREFIX, new_secret

VISIBLE_CHARACTERS = 6


def add_secret(*, endpoint: Endpoint) -> str:
    """A new signing secret for `endpoint`; returns it (stored encrypted, never shown again)."""
    secret = new_secret()
    EndpointSecret.objects.create(
        endpoint=endpoint,
        secret_encrypted=crypto.encrypt(secret),
        visible_prefix=secret[: len(SECRET_PREFIX) + VISIBLE_CHARACTERS],
    )
    return secret


@transaction.atomic
def rotate_secret(*, endpoint: Endpoint, overlap: timedelta) -> str:
    """Start signing with a new secret; the ones signing now keep signing for `overlap` too, so receivers can
    switch over without dropping a message. Returns the new secret."""
    now = timezone.now()
    ends = now + overlap
    current = endpoint.secrets.filter(expires_at__isnull=True) | endpoint.secrets.filter(expires_at__gt=ends)
    current.update(expires_at=ends)
    secret = add_secret(endpoint=endpoint)
    EndpointNotice.objects.create(
        endpoint=endpoint,
        kind=EndpointNotice.Kind.SECRET_ROTATED,
        detail=f"New secret {secret[: len(SECRET_PREFIX) + VISIBLE_CHARACTERS]}…; the previous one signs too "
        f"until {ends:%Y-%m-%d %H:%M} UTC.",
    )
    return secret
