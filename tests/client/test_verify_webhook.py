"""The verifier with a webhook secret: the Standard Webhooks headers must verify too."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest
from standardwebhooks import Webhook

from tenantstatus.client import (
    AsyncNotificationVerifier,
    InvalidSignature,
    InvalidWebhookSignature,
    MalformedNotification,
    NotificationVerifier,
)
from tests.client.issuer import AUDIENCE, Issuer

SECRET = "whsec_" + base64.b64encode(b"s" * 24).decode()
NEXT_SECRET = "whsec_" + base64.b64encode(b"n" * 24).decode()


@pytest.fixture
def verifier(issuer: Issuer) -> Iterator[NotificationVerifier]:
    with NotificationVerifier.for_service(issuer.url, AUDIENCE, webhook_secrets=[SECRET]) as it:
        yield it


def signed(
    issuer: Issuer,
    *,
    secrets: tuple[str, ...] = (SECRET,),
    message_id: str | None = None,
    at: datetime | None = None,
) -> tuple[bytes, dict[str, str]]:
    """A notification body and the headers the service would send with it."""
    body = json.dumps(issuer.notification()).encode()
    token = json.loads(body)["Token"]
    delivery_id = message_id or jwt.decode(token, options={"verify_signature": False})["jti"]
    when = at or datetime.now(UTC)
    signatures = [Webhook(s).sign(delivery_id, when, body.decode()) for s in secrets]
    return body, {
        "Webhook-Id": delivery_id,
        "Webhook-Timestamp": str(int(when.timestamp())),
        "Webhook-Signature": " ".join(signatures),
    }


def test_a_notification_with_its_signed_headers_is_accepted(
    issuer: Issuer, verifier: NotificationVerifier
) -> None:
    body, headers = signed(issuer)
    verified = verifier.verify(body, headers=headers)
    assert verified.delivery_id == headers["Webhook-Id"]


def test_during_a_secret_rotation_either_signature_will_do(issuer: Issuer) -> None:
    body, headers = signed(issuer, secrets=(NEXT_SECRET, SECRET))
    with NotificationVerifier.for_service(
        issuer.url, AUDIENCE, webhook_secrets=[SECRET]
    ) as verifier:
        assert verifier.verify(body, headers=headers)


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda h: h.clear(), "headers are needed"),
        (lambda h: h.pop("Webhook-Signature"), "headers are needed"),
        (lambda h: h.update({"Webhook-Id": "msg_another"}), "not the token's delivery"),
        (lambda h: h.update({"Webhook-Timestamp": "soon"}), "not a number"),
    ],
)
def test_missing_or_altered_headers_are_refused(
    issuer: Issuer, verifier: NotificationVerifier, change: Any, reason: str
) -> None:
    body, headers = signed(issuer)
    change(headers)
    with pytest.raises(InvalidWebhookSignature, match=reason) as caught:
        verifier.verify(body, headers=headers)
    assert isinstance(caught.value, InvalidSignature)
    assert caught.value.status_code == 401


def test_headers_signed_with_another_secret_are_refused(
    issuer: Issuer, verifier: NotificationVerifier
) -> None:
    body, headers = signed(issuer, secrets=(NEXT_SECRET,))
    with pytest.raises(InvalidWebhookSignature, match="no webhook-signature matches"):
        verifier.verify(body, headers=headers)


def test_stale_headers_are_refused(issuer: Issuer, verifier: NotificationVerifier) -> None:
    body, headers = signed(issuer, at=datetime.now(UTC) - timedelta(minutes=10))
    with pytest.raises(InvalidWebhookSignature, match="s from now"):
        verifier.verify(body, headers=headers)


def test_a_parsed_body_cannot_be_checked_against_its_signature(
    issuer: Issuer, verifier: NotificationVerifier
) -> None:
    body, headers = signed(issuer)
    with pytest.raises(MalformedNotification, match="raw body"):
        verifier.verify(json.loads(body), headers=headers)


def test_a_secret_that_is_not_whsec_base64_is_refused_at_once(issuer: Issuer) -> None:
    with pytest.raises(ValueError, match="whsec_"):
        NotificationVerifier.for_service(issuer.url, AUDIENCE, webhook_secrets=["whsec_!!"])


@pytest.mark.anyio
async def test_the_async_verifier_checks_the_headers_too(issuer: Issuer) -> None:
    verifier = AsyncNotificationVerifier.for_service(issuer.url, AUDIENCE, webhook_secrets=[SECRET])
    body, headers = signed(issuer)
    assert (await verifier.verify(body, headers=headers)).delivery_id == headers["Webhook-Id"]
    body, headers = signed(issuer, secrets=(NEXT_SECRET,))
    with pytest.raises(InvalidWebhookSignature):
        await verifier.verify(body, headers=headers)
    await verifier.aclose()


def test_a_receiver_with_a_webhook_secret_checks_the_request_headers(issuer: Issuer) -> None:
    import httpx2 as httpx

    from tenantstatus.client import NotificationReceiver
    from tests.client.loopback import LoopbackServer

    verifier = AsyncNotificationVerifier.for_service(issuer.url, AUDIENCE, webhook_secrets=[SECRET])
    with LoopbackServer(NotificationReceiver(verifier)) as server:
        body, headers = signed(issuer)
        accepted = httpx.post(server.url, content=body, headers=headers)
        unsigned = httpx.post(server.url, content=signed(issuer)[0])
    assert accepted.status_code == 200, accepted.text
    assert unsigned.status_code == 401
    assert unsigned.json()["title"] == "InvalidWebhookSignature"
