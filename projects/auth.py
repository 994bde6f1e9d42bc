"""The one way a request proves it comes from the company's backend: `Authorization: Bearer sk_…`."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from api.errors import ApiError
from projects.models import KEY_PREFIX, ApiKey, hash_key

# last_used_at is a hint for people ("is this key still in use?"), not an audit log: writing it at most once a
# minute per key keeps a busy backend from turning every API call into a write.
LAST_USED_RESOLUTION = timedelta(minutes=1)


class InvalidApiKey(ApiError):
    def __init__(self, code: str, message: str):
        super().__init__(401, code, message)


def authenticate_api_key(request) -> ApiKey:
    """The project API key this request carries; raises InvalidApiKey (401) for a missing, unknown or revoked key."""
    header = request.headers.get("Authorization", "")
    if not header:
        raise InvalidApiKey("unauthenticated", "Send 'Authorization: Bearer <project API key>'.")
    scheme, _, key = header.partition(" ")
    key = key.strip()
    if scheme.lower() != "bearer" or not key.startswith(KEY_PREFIX):
        raise InvalidApiKey(
            "invalid_api_key",
            "Send 'Authorization: Bearer <project API key>' with a key created in the admin (it starts with "
            f"'{KEY_PREFIX}').",
        )
    api_key = ApiKey.objects.filter(key_hash=hash_key(key)).first()
    if api_key is None:
        raise InvalidApiKey("invalid_api_key", "This API key is not known.")
    if api_key.is_revoked:
        raise InvalidApiKey("invalid_api_key", "This API key was revoked.")
    _note_use(api_key)
    return api_key


def _note_use(api_key: ApiKey) -> None:
    now = timezone.now()
    if api_key.last_used_at is None or api_key.last_used_at < now - LAST_USED_RESOLUTION:
        ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
        api_key.last_used_at = now
