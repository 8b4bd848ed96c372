"""Push end to end: a real service notifies real receivers over HTTP on loopback."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import httpx2 as httpx
import jwt
import pytest
from standardwebhooks import Webhook

from tenantstatus.model import StateChangeNotification
from tests.push.conftest import Registered, operate, register, tenant
from tests.support.processes import ServiceProcess
from tests.support.receivers import Received, Receiver


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A receiver of this test's own: each test here runs once per way of delivering,
    with the same paths, so a shared receiver would mix the two runs' requests."""
    running = Receiver().start()
    yield running
    running.stop()


def queued(service: ServiceProcess, app: Registered, ctx: str) -> list[str]:
    """The ChangeTypes in the outbox for `app` and `ctx`, oldest first.

    The outbox is written in the operation's own transaction, so once an operation has
    answered, what it queued (or did not) can be read at once: no waiting involved.
    """
    with service.admin() as admin:
        page = admin.get("/admin/deliveries", params={"application": app.id, "tenant": ctx})
    assert page.status_code == 200, page.text
    return [d["ChangeType"] for d in reversed(page.json()["Deliveries"])]


def verify(service: ServiceProcess, app: Registered, received: Received) -> dict[str, object]:
    """Verify a notification the way a vendor would, with stock libraries only."""
    Webhook(app.secret).verify(received.body, received.headers)
    notification = StateChangeNotification.from_json(received.body)
    jwks = jwt.PyJWKClient(f"{service.url}/.well-known/jwks.json")
    key = jwks.get_signing_key_from_jwt(notification.token)
    claims: dict[str, object] = jwt.decode(
        notification.token,
        key.key,
        algorithms=["RS256", "ES256"],
        audience=app.id,
        issuer=service.url,
    )
    assert claims["ctx"] == claims["sub"] == notification.context_identifier
    assert claims["change_type"] == notification.change_type
    assert claims["jti"] == received.headers["webhook-id"]
    return claims


def test_upgrade_reaches_every_approving_application_verified(
    delivering_service: ServiceProcess, receiver: Receiver
) -> None:
    first = register(delivering_service, f"{receiver.url}/ok/up-a")
    second = register(delivering_service, f"{receiver.url}/ok/up-b")
    bystander = register(delivering_service, f"{receiver.url}/ok/up-c")
    tenant(delivering_service, "PushUp1", first, second)
    operate(delivering_service, "PushUp1", "upgrade", VersionName="R2", FileVersion="2.0")
    assert queued(delivering_service, bystander, "PushUp1") == []
    assert queued(delivering_service, first, "PushUp1") == ["Upgrade"]
    for app, name in ((first, "up-a"), (second, "up-b")):
        (got,) = receiver.wait_for(name, 1)
        claims = verify(delivering_service, app, got)
        body = json.loads(got.body)
        assert list(body) == [
            "ChangeType",
            "ContextIdentifier",
            "VersionName",
            "FileVersion",
            "Token",
        ]
        assert (body["ChangeType"], body["VersionName"], body["FileVersion"]) == (0, "R2", "2.0")
        assert claims["file_version"] == "2.0"
        assert int(claims["exp"]) - int(claims["iat"]) <= 600  # type: ignore[call-overload]
    assert receiver.received("up-c") == []
    assert bystander.id not in {r.headers.get("webhook-id") for r in receiver.requests}


def test_move_carries_the_bare_public_endpoint(
    delivering_service: ServiceProcess, receiver: Receiver
) -> None:
    app = register(delivering_service, f"{receiver.url}/ok/move")
    tenant(delivering_service, "PushMove", app)
    operate(delivering_service, "PushMove", "move", Endpoint="https://sod3.example.com/PushMove")
    (got,) = receiver.wait_for("move", 1)
    verify(delivering_service, app, got)
    body = json.loads(got.body)
    assert body["ChangeType"] == 5 and body["PublicEndpoint"] == "sod3.example.com"


def test_operations_that_announce_nothing_send_nothing(
    delivering_service: ServiceProcess, receiver: Receiver
) -> None:
    app = register(delivering_service, f"{receiver.url}/ok/quiet")
    tenant(delivering_service, "PushQuiet", app)
    operate(delivering_service, "PushQuiet", "maintenance-online")
    operate(delivering_service, "PushQuiet", "maintenance-done")
    assert queued(delivering_service, app, "PushQuiet") == []
    operate(delivering_service, "PushQuiet", "suspend")
    assert queued(delivering_service, app, "PushQuiet") == ["Suspend"]
    (got,) = receiver.wait_for("quiet", 1)
    assert json.loads(got.body)["ChangeType"] == 2


def test_an_application_approved_after_a_change_does_not_get_it(
    delivering_service: ServiceProcess, receiver: Receiver
) -> None:
    early = register(delivering_service, f"{receiver.url}/ok/early")
    late = register(delivering_service, f"{receiver.url}/ok/late")
    tenant(delivering_service, "PushLate", early)
    operate(delivering_service, "PushLate", "suspend")
    with delivering_service.admin() as admin:
        admin.put(f"/admin/applications/{late.id}/approvals/PushLate")
    operate(delivering_service, "PushLate", "resume")
    assert [json.loads(r.body)["ChangeType"] for r in receiver.wait_for("early", 2)] == [2, 3]
    assert [json.loads(r.body)["ChangeType"] for r in receiver.wait_for("late", 1)] == [3]


def test_failures_are_retried_with_the_same_delivery_id_and_order_holds(
    delivering_service: ServiceProcess, receiver: Receiver
) -> None:
    app = register(delivering_service, f"{receiver.url}/flaky/2/order")
    tenant(delivering_service, "PushOrder", app)
    operate(delivering_service, "PushOrder", "upgrade", VersionName="R2", FileVersion="2.0")
    operate(delivering_service, "PushOrder", "upgrade-done")
    got = receiver.wait_for("order", 6)
    ids = [r.headers["webhook-id"] for r in got]
    assert ids[0] == ids[1] == ids[2] != ids[3] == ids[4] == ids[5]
    assert [json.loads(r.body)["ChangeType"] for r in got[::3]] == [0, 3]
    tokens = {json.loads(r.body)["Token"] for r in got[:3]}
    assert len(tokens) == 3  # a fresh token per attempt
    for received in got:
        verify(delivering_service, app, received)
    with delivering_service.admin() as admin:
        detail = admin.get(f"/admin/deliveries/{ids[0]}").json()
    assert detail["Delivery"]["Status"] == "delivered"
    assert [a["StatusCode"] for a in detail["Attempts"]] == [500, 500, 200]
    assert detail["Attempts"][0]["ResponseExcerpt"] == "not yet"


def test_gone_disables_the_subscription_until_it_is_enabled(
    delivering_service: ServiceProcess, receiver: Receiver
) -> None:
    app = register(delivering_service, f"{receiver.url}/gone/gone")
    tenant(delivering_service, "PushGone", app)
    operate(delivering_service, "PushGone", "suspend")
    receiver.wait_for("gone", 1)
    with delivering_service.admin() as admin:
        deadline = time.monotonic() + 10
        while admin.get(f"/admin/applications/{app.id}").json()["Enabled"]:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        shown = admin.get(f"/admin/applications/{app.id}").json()
        assert "410" in shown["DisabledReason"]
        operate(delivering_service, "PushGone", "resume")  # held: the subscription is off
        assert queued(delivering_service, app, "PushGone") == ["Suspend", "Resume"]
        admin.put(f"/admin/applications/{app.id}/url", json={"Url": f"{receiver.url}/ok/gone"})
        assert admin.post(f"/admin/applications/{app.id}/enable").json()["Enabled"] is True
    operate(delivering_service, "PushGone", "suspend")
    # The refused Suspend again, the held Resume, then the new Suspend: in order.
    got = receiver.wait_for("gone", 4)
    assert [json.loads(r.body)["ChangeType"] for r in got] == [2, 2, 3, 2]


@pytest.mark.parametrize("kind", ["hang", "redirect"])
def test_timeouts_and_redirects_are_failures_until_dead(
    delivering_service: ServiceProcess, receiver: Receiver, kind: str
) -> None:
    app = register(delivering_service, f"{receiver.url}/{kind}/{kind}")
    tenant(delivering_service, f"Push{kind.title()}", app)
    operate(delivering_service, f"Push{kind.title()}", "suspend")
    got = receiver.wait_for(kind, 4, timeout=30)
    delivery_id = got[0].headers["webhook-id"]
    with delivering_service.admin() as admin:
        deadline = time.monotonic() + 20
        while (detail := admin.get(f"/admin/deliveries/{delivery_id}").json())["Delivery"][
            "Status"
        ] != "dead":
            assert time.monotonic() < deadline
            time.sleep(0.1)
    assert len(detail["Attempts"]) == 4
    if kind == "hang":
        assert "no answer within 1 s" in detail["Attempts"][0]["Error"]
    else:
        assert detail["Attempts"][0]["StatusCode"] == 307
        assert all(r.path.startswith("/redirect/") for r in receiver.received("redirect"))


def test_retry_after_is_honoured(delivering_service: ServiceProcess, receiver: Receiver) -> None:
    app = register(delivering_service, f"{receiver.url}/retry-after/later")
    tenant(delivering_service, "PushLater", app)
    operate(delivering_service, "PushLater", "suspend")
    first, second = receiver.wait_for("later", 2, timeout=10)
    assert second.at - first.at >= 0.95  # the schedule alone would retry after 0.3 s


def test_dead_deliveries_can_be_redelivered_and_recovered(
    delivering_service: ServiceProcess, receiver: Receiver
) -> None:
    app = register(delivering_service, f"{receiver.url}/flaky/4/recover")
    tenant(delivering_service, "PushRecover", app)
    operate(delivering_service, "PushRecover", "suspend")
    got = receiver.wait_for("recover", 4)
    delivery_id = got[0].headers["webhook-id"]
    with delivering_service.admin() as admin:
        deadline = time.monotonic() + 10
        while admin.get(f"/admin/deliveries/{delivery_id}").json()["Delivery"]["Status"] != "dead":
            assert time.monotonic() < deadline
            time.sleep(0.05)
        listed = admin.get("/admin/deliveries", params={"application": app.id, "status": "dead"})
        assert [d["Id"] for d in listed.json()["Deliveries"]] == [delivery_id]
        recovered = admin.post(
            f"/admin/applications/{app.id}/recover", json={"Since": "2000-01-01T00:00:00Z"}
        ).json()
        assert recovered == {"Recovered": 1, "Remaining": False}
    fifth = receiver.wait_for("recover", 5)[4]
    assert fifth.headers["webhook-id"] == delivery_id
    verify(delivering_service, app, fifth)


def test_rotated_secret_signs_with_both_and_rotated_key_stays_published(
    delivering_service: ServiceProcess, receiver: Receiver
) -> None:
    app = register(delivering_service, f"{receiver.url}/ok/rotate")
    tenant(delivering_service, "PushRotate", app)
    with delivering_service.admin() as admin:
        old_kid = next(k["Kid"] for k in admin.get("/admin/keys").json()["Keys"] if k["Active"])
        new_secret = admin.post(f"/admin/applications/{app.id}/rotate-secret").json()["Secret"]
        keys = admin.post("/admin/keys/rotate", json={"Immediately": True}).json()["Keys"]
    new_kid = next(k["Kid"] for k in keys if k["Active"])
    assert new_kid != old_kid
    published = {
        k["kid"]
        for k in httpx.get(f"{delivering_service.url}/.well-known/jwks.json").json()["keys"]
    }
    assert {old_kid, new_kid} <= published
    operate(delivering_service, "PushRotate", "suspend")
    (got,) = receiver.wait_for("rotate", 1)
    assert len(got.headers["webhook-signature"].split(" ")) == 2
    verify(delivering_service, app, got)  # the old secret still verifies
    Webhook(new_secret).verify(got.body, got.headers)
    assert jwt.get_unverified_header(json.loads(got.body)["Token"])["kid"] == new_kid


def test_discovery_document_points_at_the_jwks(delivering_service: ServiceProcess) -> None:
    document = httpx.get(f"{delivering_service.url}/.well-known/openid-configuration").json()
    assert document["issuer"] == delivering_service.url
    assert document["jwks_uri"] == f"{delivering_service.url}/.well-known/jwks.json"
    keys = httpx.get(document["jwks_uri"]).json()["keys"]
    assert keys and all({"kid", "kty", "alg", "use"} <= set(k) for k in keys)
    assert all("d" not in k for k in keys)  # no private parts


def test_metrics_show_attempts_and_outbox(delivering_service: ServiceProcess) -> None:
    metrics = httpx.get(f"{delivering_service.url}/metrics").text
    assert 'tenantstatus_delivery_attempts_total{outcome="delivered"}' in metrics
    assert "tenantstatus_delivery_seconds_bucket" in metrics
    assert "tenantstatus_outbox_depth" in metrics


def test_a_long_failing_application_is_visible_to_the_operator(
    delivering_service: ServiceProcess, receiver: Receiver
) -> None:
    app = register(delivering_service, f"{receiver.url}/flaky/99/failing")
    tenant(delivering_service, "PushFailing", app)
    operate(delivering_service, "PushFailing", "suspend")
    receiver.wait_for("failing", 2)
    with delivering_service.admin() as admin:
        shown = admin.get(f"/admin/applications/{app.id}").json()
    assert shown["Deliveries"].get("retrying", 0) + shown["Deliveries"].get("dead", 0) == 1
    listing = delivering_service.cli("app", "list").stdout
    assert app.id in listing and "retrying" in listing


def test_key_rotation_while_deliveries_are_in_flight(
    delivering_service: ServiceProcess, receiver: Receiver
) -> None:
    # Every first attempt fails, so each delivery is mid-retry when the key rotates.
    apps = [register(delivering_service, f"{receiver.url}/flaky/1/inflight{n}") for n in range(4)]
    tenants = [f"InFlight{n}" for n in range(10)]
    for ctx in tenants:
        tenant(delivering_service, ctx, *apps)
    with delivering_service.admin() as admin:
        old_kid = next(k["Kid"] for k in admin.get("/admin/keys").json()["Keys"] if k["Active"])
        for ctx in tenants:
            admin.post(f"/admin/tenants/{ctx}/operations", json={"Operation": "suspend"})
        for n in range(len(apps)):
            receiver.wait_for(f"inflight{n}", len(tenants))  # first attempts are out
        keys = admin.post("/admin/keys/rotate", json={"Immediately": True}).json()["Keys"]
        admin.post(f"/admin/tenants/{tenants[0]}/operations", json={"Operation": "resume"})
    new_kid = next(k["Kid"] for k in keys if k["Active"])
    kids = set()
    for n, app in enumerate(apps):
        for received in receiver.wait_for(f"inflight{n}", 2 * len(tenants) + 2):
            verify(delivering_service, app, received)
            kids.add(jwt.get_unverified_header(json.loads(received.body)["Token"])["kid"])
    assert kids == {old_kid, new_kid}


def test_the_vendor_sdk_verifies_token_and_webhook_signature_of_a_real_delivery(
    delivering_service: ServiceProcess, receiver: Receiver
) -> None:
    from tenantstatus.client import InvalidWebhookSignature, NotificationVerifier

    app = register(delivering_service, f"{receiver.url}/ok/sdk")
    tenant(delivering_service, "PushSdk", app)
    operate(delivering_service, "PushSdk", "suspend")
    (got,) = receiver.wait_for("sdk", 1)
    with NotificationVerifier.for_service(
        delivering_service.url, app.id, webhook_secrets=[app.secret]
    ) as verifier:
        verified = verifier.verify(got.body, headers=got.headers, remember=False)
        assert verified.delivery_id == got.headers["webhook-id"]
        forged = {**got.headers, "webhook-signature": "v1," + "A" * 44}
        with pytest.raises(InvalidWebhookSignature):
            verifier.verify(got.body, headers=forged)
