"""Helpers for the rollout tests: tenants on a host of the test's own, and polling."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx2 as httpx

from tests.support.processes import ServiceProcess


def instant(seconds: float) -> str:
    """An ISO instant `seconds` from now."""
    return (datetime.now(UTC) + timedelta(seconds=seconds)).isoformat()


def add_tenants(
    service: ServiceProcess, host: str, count: int, *, version: str = "11.10.1"
) -> list[str]:
    """`count` Running tenants on `host`; their ids, in order."""
    ids = [f"{host.split('.')[0].capitalize()}{i:03d}" for i in range(count)]
    with service.admin() as admin:
        response = admin.post(
            "/admin/tenants/import",
            json={
                "Tenants": [
                    {
                        "ContextIdentifier": ctx,
                        "Endpoint": f"https://{host}/{ctx}",
                        "State": "Running",
                        "VersionName": "Release 11.10",
                        "FileVersion": version,
                    }
                    for ctx in ids
                ]
            },
        )
    assert response.status_code == 200, response.text
    return ids


def rollout_body(host: str, **shape: Any) -> dict[str, Any]:
    """An upgrade of every tenant on `host`, with `shape` over the defaults."""
    body: dict[str, Any] = {
        "Operation": "upgrade",
        "VersionName": "Release 11.11",
        "FileVersion": "11.11.0",
        "Select": {"Host": host},
        "WindowEnd": instant(3600),
        "BatchSize": 2,
        "MaxInProgress": 2,
        "ExpectedDuration": 600,
    }
    body.update(shape)
    return body


def create(service: ServiceProcess, body: dict[str, Any]) -> dict[str, Any]:
    """Create a rollout; its answer."""
    with service.admin() as admin:
        response = admin.post("/admin/rollouts", json=body)
    assert response.status_code == 201, response.text
    answer: dict[str, Any] = response.json()
    return answer


def show(service: ServiceProcess, rollout_id: int) -> dict[str, Any]:
    """The rollout as `GET /admin/rollouts/{id}` answers it."""
    with service.admin() as admin:
        answer: dict[str, Any] = admin.get(f"/admin/rollouts/{rollout_id}").json()
    return answer


def states(service: ServiceProcess, ids: list[str]) -> dict[str, str]:
    """Each tenant's state, from the public state API."""
    with httpx.Client(base_url=service.url) as client:
        return {ctx: client.get(f"/api/state/{ctx}").json()["State"] for ctx in ids}


def offline(service: ServiceProcess, ids: list[str]) -> list[str]:
    """The tenants in OfflineMaintenance (upgrading)."""
    return [ctx for ctx, state in states(service, ids).items() if state == "OfflineMaintenance"]


def finish(service: ServiceProcess, ids: list[str]) -> None:
    """Report `upgrade-done` for each tenant, as the platform's tooling does."""
    with service.admin() as admin:
        for ctx in ids:
            response = admin.post(
                f"/admin/tenants/{ctx}/operations", json={"Operation": "upgrade-done"}
            )
            assert response.status_code == 200, response.text


def poll(what: Callable[[], Any], *, timeout: float = 20.0, interval: float = 0.1) -> Any:
    """Call `what` until it answers something true; that answer."""
    deadline = time.monotonic() + timeout
    while True:
        answer = what()
        if answer:
            return answer
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting after {timeout} s; last answer {answer!r}")
        time.sleep(interval)
