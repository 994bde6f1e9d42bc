"""Records of the resources the sandbox serves through its generic engine (sandbox/generic/).

One table for every such resource: each row is one Sage record of one business, kept as the JSON Sage answers
(`data`, without `id`, `$path` and the timestamps, which are columns). Deleted records stay as tombstones with
`deleted_at` set, because Sage's `deleted_since` lists them afterwards.
"""

from django.db import models
from django.utils import timezone

from .accounting import RecordQuerySet

__all__ = ["GenericRecord"]


class GenericRecord(models.Model):
    business = models.ForeignKey("sandbox.Business", on_delete=models.CASCADE, related_name="generic_records")
    # The collection's name under /v3.1 (`products`, `purchase_invoices`, `business_settings`).
    resource = models.CharField(max_length=60)
    key = models.CharField(max_length=64)
    displayed_as = models.CharField(max_length=255, blank=True)
    data = models.JSONField(default=dict)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    deleted_at = models.DateTimeField(null=True, blank=True)

    objects = RecordQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["business", "resource", "key"], name="sandbox_generic_key_per_business"
            )
        ]
        indexes = [
            models.Index(fields=["business", "resource", "created_at"], name="sandbox_generic_created"),
            models.Index(fields=["business", "resource", "updated_at"], name="sandbox_generic_updated"),
        ]

    def __str__(self) -> str:
        return f"{self.resource}/{self.key}"

    @property
    def sage_id(self) -> str:
        return self.key

    @property
    def api_path(self) -> str:
        return f"/{self.resource}/{self.key}"

    def as_link(self) -> dict:
        return {"id": self.key, "displayed_as": self.displayed_as, "$path": self.api_path}
