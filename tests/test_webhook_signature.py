from __future__ import annotations

from datetime import UTC, datetime

import pytest
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from tenantstatus.webhook_signature import new_webhook_secret, sign_webhook


def test_signatures_verify_with_the_standard_webhooks_library() -> None:
    secret = new_webhook_secret()
    body = b'{"ChangeType":2,"ContextIdentifier":"Cust1"}'
    timestamp = int(datetime.now(UTC).timestamp())
    headers = {
        "webhook-id": "msg_1",
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign_webhook([secret], "msg_1", timestamp, body),
    }
    assert Webhook(secret).verify(body, headers) == {"ChangeType": 2, "ContextIdentifier": "Cust1"}
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(body + b" ", headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(new_webhook_secret()).verify(body, headers)


def test_two_secrets_give_two_signatures_and_either_verifies() -> None:
    old, new = new_webhook_secret(), new_webhook_secret()
    timestamp = int(datetime.now(UTC).timestamp())
    signature = sign_webhook([new, old], "msg_2", timestamp, b"{}")
    assert len(signature.split(" ")) == 2
    headers = {
        "webhook-id": "msg_2",
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature,
    }
    for secret in (old, new):
        Webhook(secret).verify(b"{}", headers)


def test_secrets_are_whsec_and_random() -> None:
    secrets = {new_webhook_secret() for _ in range(50)}
    assert len(secrets) == 50 and all(s.startswith("whsec_") for s in secrets)
