"""Standard Webhooks signatures (https://www.standardwebhooks.com/), made by the `standardwebhooks` package."""

from __future__ import annotations

import base64
import secrets
from datetime import datetime

from standardwebhooks.webhooks import Webhook

SECRET_PREFIX = "whsec_"


def new_secret() -> str:
    """A fresh signing secret in the spec's form: `whsec_` + base64 of 32 random bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def signature_header(signing_secrets: list[str], *, message_id: str, sent_at: datetime, body: str) -> str:
    """`webhook-signature`: one `v1,<base64>` per secret, space-separated; during a rotation's overlap both the
    new and the old secret sign, so a receiver that knows either accepts the message."""
    # sign() replaces the time's zone with UTC rather than converting: it must be given a UTC time.
    return " ".join(
        Webhook(secret).sign(msg_id=message_id, timestamp=sent_at, data=body) for secret in signing_secrets
    )


def headers_for(
    signing_secrets: list[str], *, message_id: str, sent_at: datetime, body: str
) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "User-Agent": "sageint-webhooks/1",
        "webhook-id": message_id,
        "webhook-timestamp": str(int(sent_at.timestamp())),
        "webhook-signature": signature_header(
            signing_secrets, message_id=message_id, sent_at=sent_at, body=body
        ),
    }
