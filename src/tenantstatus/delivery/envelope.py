"""What goes on the wire for one delivery attempt: the JSON body and its headers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from tenantstatus.__about__ import __version__
from tenantstatus.model import StateChangeNotification
from tenantstatus.store.push_records import Delivery
from tenantstatus.tokens import SigningKeyRing, notification_claims
from tenantstatus.webhook_signature import sign_webhook

__all__ = ["TEST_HEADER", "Envelope", "notification_body", "notification_token", "seal_envelope"]

_USER_AGENT = f"tenantstatus/{__version__}"
#: On test notifications, as SuperOffice's CRM webhooks send it. Not signed: a hint for
#: logs and stock receivers; the signed `test` claim of the token is what decides.
TEST_HEADER = "x-hook-test"


@dataclass(frozen=True, slots=True)
class Envelope:
    """A ready-to-send POST."""

    body: bytes
    headers: dict[str, str]


def notification_token(
    delivery: Delivery, *, ring: SigningKeyRing, issuer: str, now: datetime
) -> str:
    """A fresh token for `delivery`, signed by `ring` at `now`."""
    return ring.sign(
        notification_claims(
            issuer=issuer,
            audience=delivery.application_id,
            context_identifier=delivery.context_identifier,
            change_type=int(delivery.change_type),
            file_version=delivery.file_version,
            delivery_id=delivery.id,
            now=now,
            test=delivery.test,
        )
    )


def notification_body(delivery: Delivery, token: str) -> bytes:
    """The exact wire body of `delivery`, carrying `token`."""
    return StateChangeNotification(
        change_type=int(delivery.change_type),
        context_identifier=delivery.context_identifier,
        version_name=delivery.version_name,
        file_version=delivery.file_version,
        token=token,
        public_endpoint=delivery.public_endpoint,
    ).to_json()


def seal_envelope(
    delivery: Delivery,
    *,
    ring: SigningKeyRing,
    issuer: str,
    webhook_secrets: list[str],
    now: datetime,
) -> Envelope:
    """Build the notification with a fresh token and the Standard Webhooks headers."""
    body = notification_body(
        delivery, notification_token(delivery, ring=ring, issuer=issuer, now=now)
    )
    timestamp = int(now.timestamp())
    headers = {
        "content-type": "application/json",
        "user-agent": _USER_AGENT,
        "webhook-id": delivery.id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign_webhook(webhook_secrets, delivery.id, timestamp, body),
    }
    if delivery.test:
        headers[TEST_HEADER] = "true"
    return Envelope(body, headers)
