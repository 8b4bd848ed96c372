"""Who may use which portal route: nobody, another application, an ended session, a form
without its CSRF token, a spent link. Every route of the portal is in the matrix."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi import FastAPI

from tenantstatus.service.auth import hash_token
from tenantstatus.service.portal import portal_router
from tenantstatus.service.route_table import route_entries
from tests.portal.conftest import PortalClient, World

PAGES = ["/portal", "/portal/customers", "/portal/deliveries"]


def forms(world: World) -> list[tuple[str, dict[str, str]]]:
    """Every form the portal takes with a session, each as A would send it."""
    return [
        ("/portal/url", {"url": f"{world.receiver.url}/ok/portal-a-moved"}),
        ("/portal/rotate-secret", {}),
        ("/portal/test", {"change_type": "Upgrade"}),
        ("/portal/recover", {"since": "2026-01-01T00:00:00Z"}),
        ("/portal/redeliver", {"delivery": world.a_delivery}),
        ("/portal/logout", {}),
    ]


# Reached without a session on purpose: the ways in, and the stylesheet.
ENTRY = {("GET", "/portal/login"), ("POST", "/portal/login"), ("GET", "/portal/enter")}
ENTRY |= {("POST", "/portal/enter")}


@pytest.fixture
def portal(portal_world: World) -> Iterator[PortalClient]:
    client = portal_world.portal()
    yield client
    client.close()


def test_the_matrix_covers_every_portal_route(portal_world: World) -> None:
    covered = {("GET", path) for path in PAGES} | ENTRY
    covered |= {("POST", path) for path, _ in forms(portal_world)}
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    app.include_router(portal_router())
    routes = set()
    for entry in route_entries(app):
        if entry.path_format.startswith("/portal/assets/"):
            continue  # the stylesheet: public, the same for everyone
        if entry.path_format.startswith("/admin/"):
            continue  # the operator's link route: tests/push/test_authorization.py
        routes |= {(method, entry.path_format) for method in entry.methods}
    assert routes == covered


def test_without_a_session_pages_send_to_the_login_and_forms_change_nothing(
    portal_world: World, portal: PortalClient
) -> None:
    for path in PAGES:
        answer = portal.http.get(path)
        assert answer.status_code == 303, path
        assert answer.headers["location"] == "/portal/login"
    before = portal_world.application(portal_world.a)
    for path, fields in forms(portal_world):
        answer = portal.http.post(path, data={"csrf": "x" * 64, **fields})
        assert answer.status_code == 401, path
        assert "nothing was changed" in answer.text
    assert portal_world.application(portal_world.a) == before


def test_a_wrong_or_missing_csrf_token_is_refused(
    portal_world: World, portal: PortalClient
) -> None:
    assert portal.login(portal_world.a.token).status_code == 303
    before = portal_world.application(portal_world.a)
    attempts = len(portal_world.delivery(portal_world.a_delivery)["Attempts"])
    for path, fields in forms(portal_world):
        for csrf in ({}, {"csrf": ""}, {"csrf": "0" * 64}):
            answer = portal.http.post(path, data={**csrf, **fields})
            assert answer.status_code == 403, (path, csrf)
            assert "security token" in answer.text
    assert portal_world.application(portal_world.a) == before
    assert len(portal_world.delivery(portal_world.a_delivery)["Attempts"]) == attempts
    # Another session's token is as wrong as a made-up one.
    other = portal_world.portal()
    try:
        assert other.login(portal_world.a.token).status_code == 303
        stolen = other.csrf()
        assert portal.http.post("/portal/rotate-secret", data={"csrf": stolen}).status_code == 403
    finally:
        other.close()
    # Still logged in: the refusals ended nothing.
    assert portal.http.get("/portal").status_code == 200


def test_the_login_form_needs_its_own_token_too(portal_world: World, portal: PortalClient) -> None:
    portal.http.get("/portal/login")
    refused = portal.http.post(
        "/portal/login", data={"csrf": "y" * 43, "token": portal_world.a.token}
    )
    assert refused.status_code == 403
    assert "tsportal" not in refused.cookies
    wrong = portal.login("tsapp_not-a-real-token")
    assert wrong.status_code == 401
    assert "not the token of an application" in wrong.text
    operator = portal.login(portal_world.service.token)
    assert operator.status_code == 401  # the portal is for applications, not the operator


def test_another_applications_session_never_sees_or_touches_a(
    portal_world: World, portal: PortalClient
) -> None:
    assert portal.login(portal_world.b.token).status_code == 303
    pages = [portal.http.get(path) for path in PAGES]
    for answer in pages:
        assert answer.status_code == 200
        assert portal_world.a.id not in answer.text
        assert "Awesome" not in answer.text
        assert "PortalA1" not in answer.text and "PortalA2" not in answer.text
        assert portal_world.a_delivery not in answer.text
    assert portal_world.b_delivery in pages[2].text
    assert "PortalB1" in pages[1].text
    # Search and cursors stay inside B's data.
    searched = portal.http.get("/portal/customers", params={"q": "PortalA"})
    assert "PortalA1" not in searched.text and "No customer matches" in searched.text
    paged = portal.http.get("/portal/deliveries", params={"after": "999999"})
    assert portal_world.a_delivery not in paged.text
    # A's delivery is "not found" to B, and stays as it was.
    attempts = len(portal_world.delivery(portal_world.a_delivery)["Attempts"])
    redelivered = portal.act("/portal/redeliver", delivery=portal_world.a_delivery)
    assert redelivered.status_code == 404
    assert f"no delivery {portal_world.a_delivery}" in redelivered.text
    detail = portal_world.delivery(portal_world.a_delivery)
    assert detail["Delivery"]["Status"] == "delivered"
    assert len(detail["Attempts"]) == attempts
    # B's own changes change B only.
    a_before = portal_world.application(portal_world.a)
    moved = portal.act("/portal/url", url=f"{portal_world.receiver.url}/ok/portal-b-moved")
    assert moved.status_code == 303
    assert portal_world.application(portal_world.b)["Url"].endswith("/ok/portal-b-moved")
    assert portal.act("/portal/rotate-secret").status_code == 200
    assert portal_world.application(portal_world.a) == a_before


def test_an_ended_session_is_refused(portal_world: World, portal: PortalClient) -> None:
    token = "tsps_ended-session-of-application-a-for-this-test"
    portal_world.stale_session(portal_world.a, token, datetime.now(UTC) - timedelta(hours=9))
    portal.http.cookies.set("tsportal", token, domain="127.0.0.1", path="/portal")
    assert portal.http.get("/portal").status_code == 303
    refused = portal.http.post("/portal/rotate-secret", data={"csrf": "x"})
    assert refused.status_code == 401


def test_after_logout_the_old_cookie_opens_nothing(
    portal_world: World, portal: PortalClient
) -> None:
    assert portal.login(portal_world.a.token).status_code == 303
    cookie = portal.session_cookie
    csrf = portal.csrf()
    out = portal.http.post("/portal/logout", data={"csrf": csrf})
    assert out.status_code == 303
    assert out.headers["location"] == "/portal/login?notice=logged-out"
    assert "tsportal" not in portal.http.cookies
    replay = portal_world.portal()
    try:
        replay.http.cookies.set("tsportal", cookie, domain="127.0.0.1", path="/portal")
        assert replay.http.get("/portal").status_code == 303
        assert replay.http.post("/portal/test", data={"csrf": csrf}).status_code == 401
    finally:
        replay.close()


def test_a_link_opens_one_session_once(portal_world: World) -> None:
    link = portal_world.link(portal_world.a)
    first, second = portal_world.portal(), portal_world.portal()
    try:
        assert first.enter(link).status_code == 303
        assert first.http.get("/portal").status_code == 200
        spent = second.enter(link)
        assert spent.status_code == 401
        assert "expired or was used already" in spent.text
        assert "tsportal" not in second.http.cookies
        assert second.http.get("/portal").status_code == 303
    finally:
        first.close()
        second.close()


def test_an_expired_link_opens_nothing(portal_world: World, portal: PortalClient) -> None:
    token = "tspl_expired-link-of-application-a-for-this-test"
    began = datetime.now(UTC) - timedelta(minutes=20)
    portal_world.store_call(
        lambda store: store.add_portal_link(
            hash_token(token),
            portal_world.a.id,
            now=began,
            expires_at=began + timedelta(minutes=15),
        )
    )
    refused = portal.enter(f"{portal_world.service.url}/portal/enter?token={token}")
    assert refused.status_code == 401
    assert portal.http.get("/portal").status_code == 303


def test_the_session_cookie_is_httponly_strict_and_scoped(
    portal_world: World, portal: PortalClient
) -> None:
    answer = portal.login(portal_world.a.token)
    cookie = answer.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and "path=/portal" in cookie
    assert "secure" not in cookie  # loopback: there is no TLS to require
    assert f"max-age={8 * 3600}" in cookie
    token = portal.session_cookie
    # Stored by hash only: the database never holds the cookie's value.
    stored = portal_world.store_call(
        lambda store: store.portal_session(hash_token(token), datetime.now(UTC))
    )
    assert stored == portal_world.a.id
    for path in portal_world.service.data_dir.glob("tenantstatus.db*"):
        assert token.encode() not in path.read_bytes(), path


def test_the_cookie_is_secure_when_the_portal_is_not_on_loopback(portal_world: World) -> None:
    portal = portal_world.portal()
    try:
        host = {"host": "portal.example.com"}
        form = portal.http.get("/portal/login", headers=host)
        assert "secure" in form.headers["set-cookie"].lower()
        csrf = form.cookies["tsportal_login"]
        answer = portal.http.post(
            "/portal/login",
            data={"csrf": csrf, "token": portal_world.a.token},
            headers={**host, "cookie": f"tsportal_login={csrf}"},  # Secure: sent by hand
        )
        assert answer.status_code == 303
        session = next(
            v for k, v in answer.headers.multi_items() if k == "set-cookie" and "tsportal=" in v
        )
        assert "secure" in session.lower() and "httponly" in session.lower()
    finally:
        portal.close()


def test_a_landing_page_without_a_link_token_says_so(portal: PortalClient) -> None:
    answer = portal.http.get("/portal/enter", params={"token": "not-a-link"})
    assert answer.status_code == 404
    assert "Not a portal link" in answer.text
