"""Encryption at rest for secrets (client secret, OAuth tokens): the only module that encrypts or decrypts.

Keys come from settings.SAGEINT_ENCRYPTION_KEYS (newest first). MultiFernet encrypts with the first key and
decrypts with any, so a new key can be put in front, everything re-encrypted (`rotate_encryption_keys`), and
the old key removed afterwards.
"""

from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


class DecryptionFailed(Exception):
    """Ciphertext was made with a key that is no longer configured (or is corrupt)."""

    def __init__(self) -> None:
        super().__init__("A stored secret cannot be decrypted with the keys in SAGEINT_ENCRYPTION_KEYS.")


@lru_cache(maxsize=4)
def _fernet_for(keys: tuple[str, ...]) -> MultiFernet:
    if not keys:
        raise ImproperlyConfigured("SAGEINT_ENCRYPTION_KEYS is empty.")
    fernets = []
    for position, key in enumerate(keys, start=1):
        try:
            fernets.append(Fernet(key.strip().encode()))
        except (ValueError, TypeError) as error:
            # Never echo the key itself.
            raise ImproperlyConfigured(
                f"SAGEINT_ENCRYPTION_KEYS: key #{position} is not a valid Fernet key "
                "(32 url-safe base64-encoded bytes)."
            ) from error
    return MultiFernet(fernets)


def _fernet() -> MultiFernet:
    # Looked up per call (and cached per key list) so override_settings and key rotation take effect at once.
    return _fernet_for(tuple(settings.SAGEINT_ENCRYPTION_KEYS))


def encrypt(plaintext: str) -> str:
    return _fernet().encrypt(plaintext.encode()).decode()


def decrypt(ciphertext: str) -> str:
    return _decrypt_with(tuple(settings.SAGEINT_ENCRYPTION_KEYS), ciphertext)


# Every proxied call decrypts its connection's access token, which changes only every few minutes. Fernet
# ciphertext is unique per encryption (random IV), so the same ciphertext under the same keys is always the same
# secret: remembering recent answers is safe, and bounded. Plaintexts stay in this process's memory only, where
# they are anyway while in use; failures are not cached.
@lru_cache(maxsize=1024)
def _decrypt_with(keys: tuple[str, ...], ciphertext: str) -> str:
    try:
        return _fernet_for(keys).decrypt(ciphertext.encode()).decode()
    except InvalidToken as error:
        raise DecryptionFailed() from error


def reencrypt(ciphertext: str) -> str:
    """The same secret encrypted under the newest key (used by key rotation)."""
    try:
        return _fernet().rotate(ciphertext.encode()).decode()
    except InvalidToken as error:
        raise DecryptionFailed() from error


def check_keys() -> None:
    """Raise ImproperlyConfigured when a configured key is unusable (called by the system check)."""
    _fernet()
