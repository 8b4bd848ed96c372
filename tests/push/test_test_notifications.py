"""Test notifications (`app test`) end to end: a real service, a real receiver, stock libraries."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from typing import Any

import httpx2 as httpx
import jwt
import pytest
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from tenantstatus.client import (
    AsyncNotificationVerifier,
    InvalidSignature,
    NotificationReceiver,
    NotificationVerifier,
    VerifiedNotification,
)
from tenantstatus.model import TEST_CONTEXT_IDENTIFIER, StateChangeNotification
from tests.client.loopback import LoopbackServer
from tests.push.conftest import Registered, operate, register, tenant
from tests.support.processes import ServiceProcess
from tests.support.receivers import Received, Receiver

WIRE_KEYS = ["ChangeType", "ContextIdentifier", "VersionName", "FileVersion", "Token"]


def send_test(service: ServiceProcess, app_id: str, token: str, **body: Any) -> httpx.Response:
    return httpx.post(
        f"{service.url}/admin/applications/{app_id}/test",
        json=body or None,
        headers={"Authorization": f"Bearer {token}"},
    )


def tenant_as_stored(service: ServiceProcess, ctx: str) -> tuple[Any, ...]:
    """Everything the service holds about a tenant: its row, its history, its state answer."""
    with service.admin() as admin:
        detail = admin.get(f"/admin/tenants/{ctx}").json()
        state = admin.get(f"/api/state/{ctx}").json()
    state.pop("ValidUntil")
    return detail["Tenant"], detail["History"], state


def stock_claims(service: ServiceProcess, app: Registered, got: Received) -> dict[str, Any]:
    """Verify with the PyPI `standardwebhooks` library and PyJWT alone, as any vendor can."""
    Webhook(app.secret).verify(got.body, got.headers)
    notification = StateChangeNotification.from_json(got.body)
    key = jwt.PyJWKClient(f"{service.url}/.well-known/jwks.json").get_signing_key_from_jwt(
        notification.token
    )
    claims: dict[str, Any] = jwt.decode(
        notification.token,
        key.key,
        algorithms=["RS256", "ES256"],
        audience=app.id,
        issuer=service.url,
    )
    return claims


def sdk_verify(service: ServiceProcess, app: Registered, got: Received) -> VerifiedNotification:
    with NotificationVerifier.for_service(
        service.url, app.id, webhook_secrets=[app.secret]
    ) as verifier:
        return verifier.verify(got.body, headers=got.headers, remember=False)


def delivery(service: ServiceProcess, delivery_id: str) -> dict[str, Any]:
    with service.admin() as admin:
        detail: dict[str, Any] = admin.get(f"/admin/deliveries/{delivery_id}").json()
    return detail


def test_the_applications_own_token_sends_a_signed_test_through_the_outbox(
    push_service: ServiceProcess, receiver: Receiver
) -> None:
    app = register(push_service, f"{receiver.url}/ok/tn-own")
    tenant(push_service, "TestNoteOwn", app)
    before = tenant_as_stored(push_service, "TestNoteOwn")
    answer = send_test(
        push_service, app.id, app.token, ContextIdentifier="TestNoteOwn", ChangeType="Suspend"
    )
    assert answer.status_code == 202, answer.text
    queued = answer.json()
    assert queued["Test"] is True and queued["ChangeType"] == "Suspend"
    (got,) = receiver.wait_for("tn-own", 1)
    assert got.headers["webhook-id"] == queued["Id"]
    assert got.headers["x-hook-test"] == "true"
    body = json.loads(got.body)
    assert list(body) == WIRE_KEYS
    assert body["ContextIdentifier"] == "TestNoteOwn" and body["ChangeType"] == 2
    assert (body["VersionName"], body["FileVersion"]) == ("R1", "1.0")
    claims = stock_claims(push_service, app, got)
    assert claims["test"] is True and claims["jti"] == queued["Id"]
    assert sdk_verify(push_service, app, got).is_test is True
    detail = _finished(push_service, queued["Id"])
    assert detail["Delivery"]["Status"] == "delivered"
    assert [a["StatusCode"] for a in detail["Attempts"]] == [200]
    with push_service.admin() as admin:
        listed = admin.get("/admin/deliveries", params={"application": app.id}).json()
    assert [(d["Id"], d["Test"]) for d in listed["Deliveries"]] == [(queued["Id"], True)]
    assert tenant_as_stored(push_service, "TestNoteOwn") == before


def test_the_operator_sends_one_through_the_cli_to_the_reserved_tenant(
    push_service: ServiceProcess, receiver: Receiver
) -> None:
    app = register(push_service, f"{receiver.url}/ok/tn-cli")
    result = push_service.cli("app", "test", app.id, "--json")
    detail = json.loads(result.stdout)
    assert detail["Delivery"]["Status"] == "delivered", detail
    assert detail["Delivery"]["ContextIdentifier"] == TEST_CONTEXT_IDENTIFIER
    assert detail["Delivery"]["ChangeType"] == "Upgrade" and detail["Delivery"]["Test"]
    (attempt,) = detail["Attempts"]
    assert attempt["StatusCode"] == 200
    shown = json.loads(
        push_service.cli("deliveries", "show", detail["Delivery"]["Id"], "--json").stdout
    )
    assert shown["Attempts"] == detail["Attempts"]
    listed = push_service.cli("deliveries", "list", "--app", app.id).stdout
    assert detail["Delivery"]["Id"] in listed
    (got,) = receiver.wait_for("tn-cli", 1)
    assert json.loads(got.body)["ContextIdentifier"] == TEST_CONTEXT_IDENTIFIER
    assert stock_claims(push_service, app, got)["test"] is True
    human = push_service.cli("app", "test", app.id, "--change-type", "Move").stdout
    assert "delivered: HTTP 200" in human
    moved = json.loads(receiver.wait_for("tn-cli", 2)[1].body)
    assert moved["ChangeType"] == 5 and moved["PublicEndpoint"] == "test.invalid"
    with push_service.admin() as admin:
        assert admin.get(f"/admin/tenants/{TEST_CONTEXT_IDENTIFIER}").status_code == 404


def test_a_real_change_is_not_a_test_and_the_marker_cannot_be_flipped(
    push_service: ServiceProcess, receiver: Receiver
) -> None:
    app = register(push_service, f"{receiver.url}/ok/tn-flip")
    tenant(push_service, "TestNoteFlip", app)
    operate(push_service, "TestNoteFlip", "suspend")
    (real,) = receiver.wait_for("tn-flip", 1)
    assert "x-hook-test" not in real.headers
    assert "test" not in stock_claims(push_service, app, real)
    assert sdk_verify(push_service, app, real).is_test is False
    # The header alone decides nothing: added to a real notification, it is still real.
    assert sdk_verify(push_service, app, _with(real, {"x-hook-test": "true"})).is_test is False
    assert send_test(push_service, app.id, app.token).status_code == 202
    test = receiver.wait_for("tn-flip", 2)[1]
    headers = {k: v for k, v in test.headers.items() if k != "x-hook-test"}
    assert sdk_verify(push_service, app, _with(test, headers, replace=True)).is_test is True
    for forged in (_reclaim(real, test=True), _reclaim(test, test=None)):
        with pytest.raises(InvalidSignature):
            sdk_verify(push_service, app, forged)
        with pytest.raises(WebhookVerificationError):
            Webhook(app.secret).verify(forged.body, forged.headers)
        token = json.loads(forged.body)["Token"]
        key = jwt.PyJWKClient(f"{push_service.url}/.well-known/jwks.json")
        with pytest.raises(jwt.InvalidSignatureError):
            jwt.decode(
                token,
                key.get_signing_key_from_jwt(token).key,
                algorithms=["RS256", "ES256"],
                audience=app.id,
            )


def _with(got: Received, headers: dict[str, str], *, replace: bool = False) -> Received:
    return Received(got.path, headers if replace else {**got.headers, **headers}, got.body, got.at)


def _reclaim(got: Received, **changes: Any) -> Received:
    """The notification with its token's claims changed and its signature kept."""
    body = json.loads(got.body)
    header, payload, signature = body["Token"].split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    for name, value in changes.items():
        if value is None:
            claims.pop(name, None)
        else:
            claims[name] = value
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    body["Token"] = f"{header}.{forged}.{signature}"
    raw = json.dumps(body, separators=(",", ":")).encode()
    return Received(got.path, got.headers, raw, got.at)


def test_no_test_for_another_application_a_disabled_one_or_an_unapproved_tenant(
    push_service: ServiceProcess, receiver: Receiver
) -> None:
    a = register(push_service, f"{receiver.url}/ok/tn-a")
    b = register(push_service, f"{receiver.url}/ok/tn-b")
    tenant(push_service, "TestNoteAuth", a)
    assert send_test(push_service, a.id, b.token).status_code == 404
    assert send_test(push_service, a.id, "tsapp_unknown").status_code == 401
    refused = send_test(push_service, b.id, b.token, ContextIdentifier="TestNoteAuth")
    assert refused.status_code == 404 and "has not approved" in refused.json()["detail"]
    bad = send_test(push_service, a.id, a.token, ChangeType="Reboot")
    assert bad.status_code == 422
    with push_service.admin() as admin:
        assert admin.get("/admin/deliveries", params={"application": a.id}).json() == {
            "Deliveries": [],
            "Next": None,
        }


def test_the_reserved_tenant_cannot_be_created(push_service: ServiceProcess) -> None:
    with push_service.admin() as admin:
        refused = admin.post(
            "/admin/tenants",
            json={"ContextIdentifier": TEST_CONTEXT_IDENTIFIER, "Endpoint": "https://h/x"},
        )
    assert refused.status_code == 422, refused.text
    assert "reserved for test notifications" in refused.json()["detail"]


def test_a_bad_change_type_is_a_one_line_usage_error(push_service: ServiceProcess) -> None:
    result = push_service.cli(
        "app", "test", "app_0000000000000000", "--change-type", "Reboot", check=False
    )
    assert result.returncode == 2, result
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: --change-type 'Reboot'"), lines
    assert "Upgrade" in lines[0]


class Vendor:
    """The vendor's handler and test hook, recording what reached each."""

    def __init__(self) -> None:
        self.handled: list[VerifiedNotification] = []
        self.tests: list[VerifiedNotification] = []

    def handle(self, verified: VerifiedNotification) -> None:
        self.handled.append(verified)

    def on_test(self, verified: VerifiedNotification) -> None:
        self.tests.append(verified)


@pytest.fixture
def sdk_receiver(
    push_service: ServiceProcess, receiver: Receiver
) -> Iterator[tuple[Registered, Vendor, str]]:
    app = register(push_service, f"{receiver.url}/ok/tn-sdk-placeholder")
    vendor = Vendor()
    verifier = AsyncNotificationVerifier.for_service(
        push_service.url, app.id, webhook_secrets=[app.secret]
    )
    with LoopbackServer(
        NotificationReceiver(verifier, handler=vendor.handle, on_test=vendor.on_test)
    ) as server:
        with push_service.admin() as admin:
            moved = admin.put(f"/admin/applications/{app.id}/url", json={"Url": server.url})
        assert moved.status_code == 200, moved.text
        yield app, vendor, server.url


def test_the_sdk_receiver_hands_a_test_to_on_test_never_to_the_handler(
    push_service: ServiceProcess, sdk_receiver: tuple[Registered, Vendor, str]
) -> None:
    app, vendor, _ = sdk_receiver
    tenant(push_service, "TestNoteSdk", app)
    queued = send_test(push_service, app.id, app.token, ContextIdentifier="TestNoteSdk")
    assert queued.status_code == 202, queued.text
    detail = _finished(push_service, queued.json()["Id"])
    assert detail["Delivery"]["Status"] == "delivered", detail
    assert json.loads(detail["Attempts"][0]["ResponseExcerpt"])["status"] == "test"
    assert [v.context_identifier for v in vendor.tests] == ["TestNoteSdk"]
    assert vendor.handled == []
    operate(push_service, "TestNoteSdk", "suspend")
    with push_service.admin() as admin:
        (real, _test) = admin.get("/admin/deliveries", params={"application": app.id}).json()[
            "Deliveries"
        ]
    assert _finished(push_service, real["Id"])["Delivery"]["Status"] == "delivered"
    assert [v.is_test for v in vendor.handled] == [False]
    assert len(vendor.tests) == 1


def _finished(service: ServiceProcess, delivery_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 15
    while True:
        detail = delivery(service, delivery_id)
        if detail["Delivery"]["Status"] != "pending":
            return detail
        assert time.monotonic() < deadline, detail
        time.sleep(0.05)


def test_a_test_is_tried_once_and_a_refusal_is_a_one_line_failure(
    push_service: ServiceProcess, receiver: Receiver
) -> None:
    app = register(push_service, f"{receiver.url}/flaky/5/tn-once")
    result = push_service.cli("app", "test", app.id, check=False)
    assert result.returncode == 1, result
    (line,) = result.stderr.splitlines()
    assert line.startswith("error: test notification msg_") and "HTTP 500" in line, line
    assert "deliveries show msg_" in line
    with push_service.admin() as admin:
        (queued,) = admin.get("/admin/deliveries", params={"application": app.id}).json()[
            "Deliveries"
        ]
    # Dead after one attempt: nothing more is scheduled, so nothing more can be sent.
    detail = _finished(push_service, queued["Id"])
    assert detail["Delivery"]["Status"] == "dead"
    assert [a["StatusCode"] for a in detail["Attempts"]] == [500]
    assert len(receiver.received("tn-once")) == 1


def test_a_test_answered_410_is_dead_not_held_for_enable(
    push_service: ServiceProcess, receiver: Receiver
) -> None:
    app = register(push_service, f"{receiver.url}/gone/tn-gone")
    assert send_test(push_service, app.id, app.token).status_code == 202
    receiver.wait_for("tn-gone", 1)
    with push_service.admin() as admin:
        (queued,) = admin.get("/admin/deliveries", params={"application": app.id}).json()[
            "Deliveries"
        ]
    # A real notification would be held for `app enable`; a test was tried once and ends.
    detail = _finished(push_service, queued["Id"])
    assert detail["Delivery"]["Status"] == "dead"
    with push_service.admin() as admin:
        enabled = admin.post(f"/admin/applications/{app.id}/enable")
    assert enabled.status_code == 200, enabled.text
    with push_service.admin() as admin:
        again = admin.get(f"/admin/deliveries/{queued['Id']}").json()
    assert again["Delivery"]["Status"] == "dead"
    assert len(receiver.received("tn-gone")) == 1
