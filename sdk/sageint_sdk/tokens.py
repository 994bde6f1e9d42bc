"""Mint the signed user tokens a sageint deployment accepts (`Authorization: Bearer <token>`)."""

from __future__ import annotations

import time
from typing import Any

import jwt


def mint_user_token(
    secret: str,
    sub: str,
    expires_in: int = 300,
    *,
    algorithm: str = "HS256",
    **claims: Any,
) -> str:
    """A JWT saying "this request is for user `sub`", valid for `expires_in` seconds.

    `secret` is the deployment's SAGEINT_USER_TOKEN_SECRET (HS256), or your RSA private key in PEM form with
    algorithm="RS256" when the deployment holds only the public key. Keep tokens short-lived: whoever holds one
    can act for that user until it expires.
    """
    if not sub:
        raise ValueError("sub (your id for the user) is required")
    if algorithm.lower() == "none":
        raise ValueError("unsigned tokens are refused by sageint")
    now = int(time.time())
    payload = {**claims, "sub": str(sub), "iat": now, "exp": now + int(expires_in)}
    return jwt.encode(payload, secret, algorithm=algorithm)
