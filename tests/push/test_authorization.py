"""Who may call what: anonymous, application A, application B and the operator, every route."""

from __future__ import annotations

from typing import Any

import httpx2 as httpx
import pytest

from tests.push.conftest import Registered, operate, register, tenant
from tests.support.processes import ServiceProcess
from tests.support.receivers import Receiver


@pytest.fixture(scope="module")
def world(push_service: ServiceProcess, receiver: Receiver) -> dict[str, Any]:
    a = register(push_service, f"{receiver.url}/ok/auth-a", "A")
    b = register(push_service, f"{receiver.url}/ok/auth-b", "B")
    tenant(push_service, "AuthT", a)
    operate(push_service, "AuthT", "suspend")
    delivery = receiver.wait_for("auth-a", 1)[0].headers["webhook-id"]
    return {"a": a, "b": b, "delivery": delivery}


def operator_only(w: dict[str, Any]) -> list[tuple[str, str, Any]]:
    a: Registered = w["a"]
    return [
        ("GET", "/admin/tenants", None),
        ("POST", "/admin/tenants", {"ContextIdentifier": "AuthNew", "Endpoint": "https://h/x"}),
        ("POST", "/admin/tenants/import", {"Tenants": []}),
        ("GET", "/admin/tenants/import", None),
        ("GET", "/admin/tenants/AuthT", None),
        (
            "POST",
            "/admin/tenants/AuthT/operations",
            {"Operation": "set-version", "VersionName": "x"},
        ),
        ("GET", "/admin/schedule", None),
        ("GET", "/admin/schedule/1", None),
        ("DELETE", "/admin/schedule/999999", None),
        ("POST", "/admin/applications", {"Name": "x", "Url": "http://127.0.0.1:9/x"}),
        ("PUT", f"/admin/applications/{a.id}/approvals/AuthT", None),
        ("DELETE", f"/admin/applications/{a.id}/approvals/AuthNone", None),
        ("POST", f"/admin/applications/{a.id}/portal-link", None),
        ("GET", "/admin/keys", None),
        ("POST", "/admin/notices", {"Body": "x", "Host": "sod9.example.com"}),
        ("GET", "/admin/notices", None),
        ("GET", "/admin/notices/1", None),
        ("POST", "/admin/notices/1/updates", {"Body": "x"}),
        ("POST", "/admin/notices/999999/resolve", None),
        ("POST", "/admin/tenants/AuthT/notes", {"Body": "x"}),
        (
            "POST",
            "/admin/rollouts",
            {
                "Operation": "suspend",
                "Select": {"Host": "auth-none.example.com"},
                "WindowEnd": "2099-01-01T00:00:00Z",
                "BatchSize": 1,
                "MaxInProgress": 1,
                "ExpectedDuration": 60,
            },
        ),
        ("GET", "/admin/rollouts", None),
        ("GET", "/admin/rollouts/999999", None),
        ("POST", "/admin/rollouts/999999/pause", None),
        ("POST", "/admin/rollouts/999999/resume", None),
        ("POST", "/admin/rollouts/999999/abort", None),
    ]


def owner_scoped(w: dict[str, Any]) -> list[tuple[str, str, Any]]:
    a: Registered = w["a"]
    return [
        ("GET", f"/admin/applications/{a.id}", None),
        ("PUT", f"/admin/applications/{a.id}/url", {"Url": f"{a_url(w)}"}),
        ("POST", f"/admin/applications/{a.id}/enable", None),
        ("POST", f"/admin/applications/{a.id}/recover", {"Since": "2026-01-01T00:00:00Z"}),
        ("GET", f"/admin/deliveries/{w['delivery']}", None),
        ("POST", f"/admin/deliveries/{w['delivery']}/redeliver", None),
        ("POST", f"/admin/applications/{a.id}/rotate-secret", None),
        ("POST", f"/admin/applications/{a.id}/test", None),
        ("GET", f"/admin/applications/{a.id}/notifications", None),
    ]


def a_url(w: dict[str, Any]) -> str:
    return "http://127.0.0.1:9/ok/auth-a-moved"


def call(service: ServiceProcess, method: str, path: str, body: Any, token: str | None) -> int:
    headers = {} if token is None else {"Authorization": f"Bearer {token}"}
    return httpx.request(method, service.url + path, json=body, headers=headers).status_code


def test_anonymous_is_refused_everywhere(
    push_service: ServiceProcess, world: dict[str, Any]
) -> None:
    for method, path, body in operator_only(world) + owner_scoped(world):
        assert call(push_service, method, path, body, None) == 401, (method, path)
    assert call(push_service, "GET", "/admin/applications", None, None) == 401
    assert call(push_service, "GET", "/admin/deliveries", None, None) == 401


def test_application_tokens_may_not_use_operator_routes(
    push_service: ServiceProcess, world: dict[str, Any]
) -> None:
    for method, path, body in operator_only(world):
        assert call(push_service, method, path, body, world["a"].token) == 403, (method, path)


def test_an_application_cannot_see_or_touch_another(
    push_service: ServiceProcess, world: dict[str, Any]
) -> None:
    for method, path, body in owner_scoped(world):
        assert call(push_service, method, path, body, world["b"].token) == 404, (method, path)
    listing = httpx.get(
        f"{push_service.url}/admin/applications",
        headers={"Authorization": f"Bearer {world['b'].token}"},
    ).json()
    assert [a["Id"] for a in listing["Applications"]] == [world["b"].id]
    mine = httpx.get(
        f"{push_service.url}/admin/deliveries",
        headers={"Authorization": f"Bearer {world['b'].token}"},
    ).json()
    assert mine["Deliveries"] == []
    asked = httpx.get(
        f"{push_service.url}/admin/deliveries",
        params={"application": world["a"].id},
        headers={"Authorization": f"Bearer {world['b'].token}"},
    )
    assert asked.status_code == 404


def test_the_owner_and_the_operator_may_manage_the_application(
    push_service: ServiceProcess, world: dict[str, Any]
) -> None:
    for token in (world["a"].token, push_service.token):
        for method, path, body in owner_scoped(world):
            status = call(push_service, method, path, body, token)
            assert status in (200, 201, 202), (method, path, status)
    own = httpx.get(
        f"{push_service.url}/admin/deliveries",
        headers={"Authorization": f"Bearer {world['a'].token}"},
    ).json()
    assert {d["ApplicationId"] for d in own["Deliveries"]} == {world["a"].id}


def test_the_operator_may_use_every_operator_route(
    push_service: ServiceProcess, world: dict[str, Any]
) -> None:
    for method, path, body in operator_only(world):
        status = call(push_service, method, path, body, push_service.token)
        assert status not in (401, 403), (method, path, status)
