from django.db import models


class Heartbeat(models.Model):
    """When a background process last showed it was alive ("beat": sent a periodic task; "worker": ran one)."""

    BEAT = "beat"
    WORKER = "worker"

    name = models.CharField(max_length=20, primary_key=True)
    seen_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.name} seen at {self.seen_at:%Y-%m-%d %H:%M:%S}"
