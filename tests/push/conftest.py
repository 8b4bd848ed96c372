"""A service that may deliver to loopback, a receiver, and helpers to wire them up."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.support.processes import ServiceProcess

PUSH_ENV = {
    "TENANTSTATUS_ALLOW_HTTP": "1",
    "TENANTSTATUS_ALLOWED_NETWORKS": "127.0.0.0/8",
    "TENANTSTATUS_RETRY_SCHEDULE": "0,0.3,0.3,0.3",
    "TENANTSTATUS_DELIVERY_TIMEOUT": "1",
}


@pytest.fixture(scope="session")
def push_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    process = ServiceProcess(tmp_path_factory.mktemp("push") / "data", env=PUSH_ENV).start()
    yield process
    process.stop()


@dataclass
class Registered:
    """An application registered with the service, as its vendor sees it."""

    id: str
    token: str
    secret: str


def register(service: ServiceProcess, url: str, name: str = "app") -> Registered:
    with service.admin() as admin:
        response = admin.post("/admin/applications", json={"Name": name, "Url": url})
    assert response.status_code == 201, response.text
    body = response.json()
    return Registered(body["Application"]["Id"], body["Token"], body["Secret"])


def tenant(
    service: ServiceProcess, ctx: str, *approved: Registered, state: str = "Running"
) -> None:
    with service.admin() as admin:
        created = admin.post(
            "/admin/tenants",
            json={
                "ContextIdentifier": ctx,
                "Endpoint": f"https://sod2.example.com/{ctx}",
                "State": state,
                "VersionName": "R1",
                "FileVersion": "1.0",
            },
        )
        assert created.status_code == 201, created.text
        for application in approved:
            response = admin.put(f"/admin/applications/{application.id}/approvals/{ctx}")
            assert response.status_code == 200, response.text


def operate(service: ServiceProcess, ctx: str, operation: str, **params: Any) -> dict[str, Any]:
    with service.admin() as admin:
        response = admin.post(
            f"/admin/tenants/{ctx}/operations", json={"Operation": operation, **params}
        )
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result
