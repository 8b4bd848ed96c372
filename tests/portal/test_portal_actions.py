"""What a vendor does in the portal, against a real service and receiver: every view and
action, bad input answered on the page in one line, and the receiver's words escaped."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.portal.conftest import PortalClient, World, wait_for_status
from tests.push.conftest import register, tenant


@pytest.fixture
def portal(portal_world: World) -> Iterator[PortalClient]:
    client = portal_world.portal()
    assert client.login(portal_world.a.token).status_code == 303
    yield client
    client.close()


def test_the_application_page_shows_url_status_and_names_escaped(
    portal_world: World, portal: PortalClient
) -> None:
    home = portal.http.get("/portal")
    assert home.status_code == 200
    assert "Awesome &lt;App&gt;" in home.text and "Awesome <App>" not in home.text
    assert portal_world.a.id in home.text
    assert "Enabled" in home.text
    assert portal_world.a.secret not in home.text  # shown once, at registration
    assert home.headers["cache-control"] == "no-store"
    assert "script-src" not in home.headers["content-security-policy"]
    assert "default-src 'none'" in home.headers["content-security-policy"]


def test_customers_are_counted_by_state_and_searched(
    portal_world: World, portal: PortalClient
) -> None:
    page = portal.http.get("/portal/customers")
    assert "PortalA1" in page.text and "PortalA2" in page.text
    assert "PortalB1" not in page.text
    assert "All <strong>2</strong>" in page.text
    assert "Suspended <strong>1</strong>" in page.text
    searched = portal.http.get("/portal/customers", params={"q": "PortalA2"})
    assert "PortalA2" in searched.text and "PortalA1</a>" not in searched.text
    suspended = portal.http.get("/portal/customers", params={"state": "Suspended"})
    assert "PortalA1</a>" in suspended.text and "PortalA2</a>" not in suspended.text
    bad = portal.http.get("/portal/customers", params={"q": "<b>", "state": "Nope"})
    assert bad.status_code == 400
    assert "Search by the start of a ContextIdentifier" in bad.text
    assert "There is no such state" in bad.text


def test_deliveries_show_every_attempt_with_the_answer_escaped(
    portal_world: World, portal: PortalClient
) -> None:
    page = portal.http.get("/portal/deliveries")
    assert portal_world.a_delivery in page.text
    assert "HTTP 200" in page.text
    assert "&lt;script&gt;alert(" in page.text
    assert "<script>" not in page.text and 'id="injected"' not in page.text


def test_a_test_notification_from_the_portal_reaches_the_receiver(
    portal_world: World, portal: PortalClient
) -> None:
    before = len(portal_world.receiver.received("portal-a"))
    sent = portal.act("/portal/test", change_type="Suspend", tenant="PortalA1")
    assert sent.status_code == 303
    assert sent.headers["location"] == "/portal/deliveries?notice=test"
    (got,) = portal_world.receiver.wait_for("portal-a", before + 1)[before:]
    assert got.headers["x-hook-test"] == "true"
    assert b'"ContextIdentifier":"PortalA1"' in got.body.replace(b" ", b"")
    page = portal.http.get("/portal/deliveries?notice=test")
    assert "A test notification is queued" in page.text
    assert "Suspend for PortalA1 (test)" in page.text
    refused = portal.act("/portal/test", change_type="Upgrade", tenant="PortalB1")
    assert refused.status_code == 422
    assert "has not approved" in refused.text or "PortalB1" in refused.text
    assert "Traceback" not in refused.text


def test_redeliver_sends_the_same_delivery_again(portal_world: World, portal: PortalClient) -> None:
    delivery = portal_world.a_delivery
    attempts = len(portal_world.delivery(delivery)["Attempts"])
    again = portal.act("/portal/redeliver", delivery=delivery)
    assert again.status_code == 303
    wait_for_status(portal_world, delivery, "delivered", attempts + 1)
    ids = [r.headers["webhook-id"] for r in portal_world.receiver.received("portal-a")]
    assert ids.count(delivery) >= 2
    bad = portal.act("/portal/redeliver", delivery="not-an-id")
    assert bad.status_code == 422 and "not a delivery id" in bad.text


def test_a_refused_url_says_why_and_recover_resends_what_died(portal_world: World) -> None:
    service, receiver = portal_world.service, portal_world.receiver
    c = register(service, "http://127.0.0.1:9/nobody-listens", "Cee")
    tenant(service, "PortalC1", c)
    with service.admin() as admin:
        admin.post(
            "/admin/tenants/PortalC1/operations", json={"Operation": "suspend"}
        ).raise_for_status()
        (dead,) = admin.get("/admin/deliveries", params={"application": c.id}).json()["Deliveries"]
    wait_for_status(portal_world, dead["Id"], "dead", 4)
    portal = portal_world.portal()
    try:
        assert portal.login(c.token).status_code == 303
        for url, why in (
            ("http://169.254.169.254/latest", "refused"),
            ("ftp://example.com/x", "cannot be used"),
            ("", "cannot be used"),
        ):
            refused = portal.act("/portal/url", url=url)
            assert refused.status_code == 422, url
            (line,) = [p for p in refused.text.splitlines() if 'role="alert"' in p]
            assert why in line, line
        assert portal_world.application(c)["Url"] == "http://127.0.0.1:9/nobody-listens"
        moved = portal.act("/portal/url", url=f"{receiver.url}/ok/portal-c")
        assert moved.status_code == 303
        assert "State Change URL is changed" in portal.http.get("/portal?notice=url").text
        bad = portal.act("/portal/recover", since="yesterday")
        assert bad.status_code == 422 and "is not an instant" in bad.text
        recovered = portal.act("/portal/recover", since="2026-01-01T00:00:00")
        assert recovered.status_code == 200
        assert "1 dead deliveries since 2026-01-01T00:00:00 are queued again" in recovered.text
        wait_for_status(portal_world, dead["Id"], "delivered", 5)
        assert receiver.wait_for("portal-c", 1)[0].headers["webhook-id"] == dead["Id"]
    finally:
        portal.close()


def test_a_rotated_secret_is_shown_once(portal_world: World) -> None:
    portal = portal_world.portal()
    try:
        assert portal.login(portal_world.b.token).status_code == 303
        shown = portal.act("/portal/rotate-secret")
        assert shown.status_code == 200
        assert shown.headers["cache-control"] == "no-store"
        secret = shown.text.split('<code id="secret">', 1)[1].split("<", 1)[0]
        assert secret.startswith("whsec_") and secret != portal_world.b.secret
        assert portal_world.application(portal_world.b)["SecretRotating"] is True
        assert secret not in portal.http.get("/portal").text
    finally:
        portal.close()


def test_bodies_are_bounded_and_odd_forms_answered_in_one_line(
    portal_world: World, portal: PortalClient
) -> None:
    huge = portal.http.post("/portal/login", data={"token": "x" * 20_000})
    assert huge.status_code == 413
    as_json = portal.http.post("/portal/test", json={"csrf": portal.csrf()})
    assert as_json.status_code == 400
    assert "application/x-www-form-urlencoded" in as_json.text
    many = portal.http.post("/portal/test", data={f"f{i}": "1" for i in range(40)})
    assert many.status_code == 400 and "or too many fields" in many.text
    for answer in (as_json, many):
        assert "Traceback" not in answer.text
