"""Standard Webhooks headers, checked beside the token when the verifier has the secret.

The token proves the platform sent the notification; `webhook-signature` proves it was
sent to this application, with the secret only the platform and the application hold.
Checked: all three headers present, `webhook-id` equal to the token's delivery id,
`webhook-timestamp` within the tolerance of now, and one `v1,` signature matching
HMAC-SHA256 over `{id}.{timestamp}.{body}` with any configured secret (two during a
secret rotation).
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping, Sequence

from tenantstatus.client.errors import InvalidWebhookSignature
from tenantstatus.webhook_signature import v1_signature

__all__ = ["check_webhook_headers"]


def check_webhook_headers(
    keys: Sequence[bytes],
    headers: Mapping[str, str] | None,
    body: bytes,
    *,
    delivery_id: str,
    now: float,
    tolerance: float,
    context_identifier: str,
) -> None:
    """Raise `InvalidWebhookSignature` unless the headers sign this body for this delivery."""

    def refuse(reason: str) -> InvalidWebhookSignature:
        return InvalidWebhookSignature(reason, context_identifier=context_identifier)

    found = {name.lower(): value for name, value in (headers or {}).items()}
    message_id = found.get("webhook-id")
    timestamp = found.get("webhook-timestamp")
    signature = found.get("webhook-signature")
    if not (message_id and timestamp and signature):
        raise refuse("the webhook-id, webhook-timestamp and webhook-signature headers are needed")
    if message_id != delivery_id:
        raise refuse(f"webhook-id {message_id[:64]!r} is not the token's delivery {delivery_id}")
    try:
        sent = int(timestamp)
    except ValueError:
        raise refuse(f"webhook-timestamp {timestamp[:32]!r} is not a number") from None
    if abs(now - sent) > tolerance:
        raise refuse(
            f"webhook-timestamp is {abs(now - sent):.0f} s from now (at most {tolerance:g})"
        )
    expected = [v1_signature(key, message_id, timestamp, body) for key in keys]
    for part in signature.split():
        version, _, value = part.partition(",")
        if version == "v1" and any(hmac.compare_digest(value.encode(), e) for e in expected):
            return
    raise refuse("no webhook-signature matches this application's webhook secret")
