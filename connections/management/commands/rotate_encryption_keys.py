"""Re-encrypt every stored secret under the newest key of SAGEINT_ENCRYPTION_KEYS.

Rotation: put the new key first in SAGEINT_ENCRYPTION_KEYS (keep the old ones after it), restart, run this
command, then remove the old keys.
"""

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from connections import crypto
from connections.models import Connection, IntegrationSettings

ENCRYPTED_FIELDS = [
    (IntegrationSettings, ["client_secret_encrypted"]),
    (Connection, ["access_token_encrypted", "refresh_token_encrypted"]),
]


class Command(BaseCommand):
    help = "Re-encrypt stored secrets (client secret, OAuth tokens) under the newest SAGEINT_ENCRYPTION_KEYS key."

    def handle(self, *args, **options):
        total = 0
        for model, fields in ENCRYPTED_FIELDS:
            for pk in model.objects.values_list("pk", flat=True).iterator():
                # Row by row, each under its lock, so a token refresh running meanwhile is never overwritten.
                with transaction.atomic():
                    row = model.objects.select_for_update().filter(pk=pk).first()
                    if row is None:
                        continue
                    changed = []
                    for field in fields:
                        value = getattr(row, field)
                        if value:
                            try:
                                setattr(row, field, crypto.reencrypt(value))
                            except crypto.DecryptionFailed as error:
                                raise CommandError(
                                    f"{model.__name__} {pk}.{field}: {error} Keep the old key in the list."
                                ) from error
                            changed.append(field)
                    if changed:
                        row.save(update_fields=changed)
                        total += len(changed)
        self.stdout.write(self.style.SUCCESS(f"Re-encrypted {total} secret(s) under the newest key."))
