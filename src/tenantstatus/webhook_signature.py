"""Standard Webhooks signatures: `webhook-id`, `webhook-timestamp`, `webhook-signature`.

Shared by both halves: the service signs each delivery with it, and the vendor SDK
checks those headers with it. Standard library only.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from collections.abc import Iterable

__all__ = ["SECRET_PREFIX", "new_webhook_secret", "sign_webhook", "v1_signature", "webhook_key"]

SECRET_PREFIX = "whsec_"  # noqa: S105 - a public prefix


def new_webhook_secret() -> str:
    """A fresh `whsec_...` secret (24 random bytes, as Svix issues them)."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(24)).decode()


def webhook_key(secret: str) -> bytes:
    """The HMAC key in a `whsec_...` secret; ValueError when it is not one."""
    try:
        key = base64.b64decode(secret.removeprefix(SECRET_PREFIX), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("a webhook secret is 'whsec_' followed by base64") from None
    if not key:
        raise ValueError("the webhook secret is empty")
    return key


def v1_signature(key: bytes, message_id: str, timestamp: int | str, body: bytes) -> bytes:
    """The base64 HMAC-SHA256 of `{id}.{timestamp}.{body}`: a `v1,` signature's value."""
    signed = f"{message_id}.{timestamp}.".encode() + body
    return base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest())


def sign_webhook(
    secrets_in_use: Iterable[str], message_id: str, timestamp: int, body: bytes
) -> str:
    """The `webhook-signature` value: one `v1,<base64>` per secret, space-separated."""
    return " ".join(
        "v1," + v1_signature(webhook_key(s), message_id, timestamp, body).decode()
        for s in secrets_in_use
    )
