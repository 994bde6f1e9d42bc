"""Project API keys: how the company's backend authenticates to sageint's management API.

One sageint installation serves one company (one Sage app, one user-token secret, one namespace of end user
ids), so the installation is the project and every key reaches all of its end users. Only a SHA-256 hash of a
key is stored: the key itself is shown once, when it is created.
"""

import hashlib
import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone

KEY_PREFIX = "sk_"
# Characters of the key kept in clear so a person can tell keys apart ("sk_AbC1…"); far too few to guess it.
VISIBLE_CHARACTERS = 8


def hash_key(key: str) -> str:
    # A key holds 256 random bits: a fast hash cannot be brute-forced, and lookups stay one index read.
    return hashlib.sha256(key.encode()).hexdigest()


class ApiKeyQuerySet(models.QuerySet):
    def usable(self):
        return self.filter(revoked_at__isnull=True)


class ApiKey(models.Model):
    name = models.CharField(
        max_length=100, help_text="What uses this key, e.g. “billing backend (production)”."
    )
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    visible_prefix = models.CharField("key starts with", max_length=20, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        editable=False,
        related_name="+",
    )
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)

    objects = ApiKeyQuerySet.as_manager()

    class Meta:
        verbose_name = "API key"
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        state = " (revoked)" if self.revoked_at else ""
        return f"{self.name} · {self.visible_prefix}…{state}"

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None

    @classmethod
    def issue(cls, *, name: str, created_by=None) -> tuple["ApiKey", str]:
        """Create a key; returns the row and the key itself, which is never stored and cannot be shown again."""
        api_key = cls(name=name, created_by=created_by)
        key = api_key.generate_key()
        api_key.save()
        return api_key, key

    def generate_key(self) -> str:
        """Give this (unsaved) row a new random key; returns the key, of which only the hash is kept."""
        key = KEY_PREFIX + secrets.token_urlsafe(32)
        self.key_hash = hash_key(key)
        self.visible_prefix = key[: len(KEY_PREFIX) + VISIBLE_CHARACTERS]
        return key

    def revoke(self) -> None:
        if self.revoked_at is None:
            self.revoked_at = timezone.now()
            self.save(update_fields=["revoked_at"])
