"""A service that may deliver to loopback, a receiver, and helpers to wire them up."""

from __future__ import annotations

import time
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


def _start(tmp_path_factory: pytest.TempPathFactory, processes: int) -> ServiceProcess:
    env = {**PUSH_ENV, "TENANTSTATUS_DELIVERY_PROCESSES": str(processes)}
    return ServiceProcess(tmp_path_factory.mktemp("push") / "data", env=env).start()


@pytest.fixture(scope="session")
def push_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    """The service, delivering on its own event loop."""
    process = _start(tmp_path_factory, 0)
    yield process
    process.stop()


@pytest.fixture(scope="session")
def dispatching_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    """The service, delivering through two dispatch processes of its own."""
    process = _start(tmp_path_factory, 2)
    yield process
    process.stop()


@pytest.fixture(params=["in-process", "two-dispatch-processes"])
def delivering_service(request: pytest.FixtureRequest) -> ServiceProcess:
    """Each way the service can deliver: a test that takes this runs against both."""
    name = "push_service" if request.param == "in-process" else "dispatching_service"
    service: ServiceProcess = request.getfixturevalue(name)
    return service


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


def notify_once(service: ServiceProcess, url: str, ctx: str) -> str:
    """Register an application at `url`, approve it for a new tenant `ctx` and suspend
    that tenant; the id of the one delivery this queues (in the operation's transaction)."""
    app = register(service, url, name=ctx)
    tenant(service, ctx, app)
    operate(service, ctx, "suspend")
    with service.admin() as admin:
        listed = admin.get("/admin/deliveries", params={"application": app.id}).json()
    (delivery,) = listed["Deliveries"]
    delivery_id: str = delivery["Id"]
    return delivery_id


def recorded_attempts(
    service: ServiceProcess, delivery_id: str, count: int
) -> list[dict[str, Any]]:
    """The delivery's recorded attempts, oldest first, once there are `count` of them."""
    with service.admin() as admin:
        deadline = time.monotonic() + 20
        while True:
            detail = admin.get(f"/admin/deliveries/{delivery_id}").json()
            found: list[dict[str, Any]] = detail["Attempts"]
            if len(found) >= count:
                return found
            assert time.monotonic() < deadline, detail
            time.sleep(0.05)
