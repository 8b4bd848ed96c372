"""Scheduled operations run at their instant, across restarts, and missed ones run at start."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import httpx2 as httpx

from tests.support.processes import ServiceProcess


def in_seconds(seconds: float) -> str:
    return (datetime.now(UTC) + timedelta(seconds=seconds)).isoformat()


def state_of(service: ServiceProcess, ctx: str) -> str:
    return str(httpx.get(f"{service.url}/api/state/{ctx}").json()["State"])


def wait_for_state(service: ServiceProcess, ctx: str, state: str, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if state_of(service, ctx) == state:
            return
        time.sleep(0.05)
    raise AssertionError(f"{ctx} did not reach {state}: still {state_of(service, ctx)}")


def test_a_scheduled_operation_runs_at_its_instant(service: ServiceProcess) -> None:
    with service.admin() as admin:
        admin.post(
            "/admin/tenants",
            json={"ContextIdentifier": "SchedRun", "Endpoint": "https://h/x", "State": "Running"},
        )
        scheduled = admin.post(
            "/admin/tenants/SchedRun/operations",
            json={"Operation": "suspend", "At": in_seconds(1.5)},
        ).json()
        assert state_of(service, "SchedRun") == "Running"
        wait_for_state(service, "SchedRun", "Suspended")
        done = admin.get(f"/admin/schedule/{scheduled['Id']}").json()
        history = admin.get("/admin/tenants/SchedRun").json()["History"]
    assert done["Status"] == "done" and done["FinishedAt"] is not None
    assert history[0]["Actor"].startswith(f"schedule:{scheduled['Id']}")
    assert history[0]["Detail"]["ScheduledId"] == scheduled["Id"]


def test_a_refused_scheduled_operation_is_marked_failed_with_the_reason(
    service: ServiceProcess,
) -> None:
    with service.admin() as admin:
        admin.post(
            "/admin/tenants",
            json={"ContextIdentifier": "SchedFail", "Endpoint": "https://h/x", "State": "Running"},
        )
        scheduled = admin.post(
            "/admin/tenants/SchedFail/operations",
            json={"Operation": "resume", "At": in_seconds(0.5)},
        ).json()
        deadline = time.monotonic() + 10
        while admin.get(f"/admin/schedule/{scheduled['Id']}").json()["Status"] == "pending":
            assert time.monotonic() < deadline
            time.sleep(0.05)
        failed = admin.get(f"/admin/schedule/{scheduled['Id']}").json()
    assert failed["Status"] == "failed"
    assert "resume is not allowed from Running" in failed["Error"]


def test_scheduled_provision_creates_the_tenant_later(service: ServiceProcess) -> None:
    with service.admin() as admin:
        response = admin.post(
            "/admin/tenants",
            json={"ContextIdentifier": "SchedNew", "Endpoint": "https://h/x", "At": in_seconds(1)},
        )
    assert response.status_code == 202
    assert state_of(service, "SchedNew") == "Unknown"
    wait_for_state(service, "SchedNew", "Provisioning")


def test_cancelled_operations_never_run(service: ServiceProcess) -> None:
    with service.admin() as admin:
        admin.post(
            "/admin/tenants",
            json={
                "ContextIdentifier": "SchedCancel",
                "Endpoint": "https://h/x",
                "State": "Running",
            },
        )
        admin.post(
            "/admin/tenants",
            json={
                "ContextIdentifier": "SchedMarker",
                "Endpoint": "https://h/y",
                "State": "Running",
            },
        )
        scheduled = admin.post(
            "/admin/tenants/SchedCancel/operations",
            json={"Operation": "suspend", "At": in_seconds(1)},
        ).json()
        # Due after the cancelled one: once it has run, the scheduler is past that instant.
        admin.post(
            "/admin/tenants/SchedMarker/operations",
            json={"Operation": "suspend", "At": in_seconds(1.2)},
        )
        cancelled = admin.delete(f"/admin/schedule/{scheduled['Id']}")
        assert cancelled.json()["Status"] == "cancelled"
        assert admin.delete(f"/admin/schedule/{scheduled['Id']}").status_code == 404
        wait_for_state(service, "SchedMarker", "Suspended")
        pending = admin.get("/admin/schedule", params={"context_identifier": "SchedCancel"})
    assert state_of(service, "SchedCancel") == "Running"
    assert pending.json()["Scheduled"] == []


def test_state_and_schedule_survive_a_restart_and_missed_operations_run_at_start(
    fresh_service: ServiceProcess,
) -> None:
    service = fresh_service.start()
    with service.admin() as admin:
        admin.post(
            "/admin/tenants",
            json={"ContextIdentifier": "Restart1", "Endpoint": "https://h/x", "State": "Running"},
        )
        admin.post("/admin/tenants/Restart1/operations", json={"Operation": "maintenance-online"})
        admin.post(
            "/admin/tenants/Restart1/operations",
            json={"Operation": "maintenance-done", "At": in_seconds(2)},
        )
        window_end = admin.get("/admin/schedule").json()["Scheduled"][0]["At"]
        far = admin.post(
            "/admin/tenants/Restart1/operations",
            json={"Operation": "suspend", "At": in_seconds(3600)},
        ).json()
    service.stop()
    # The maintenance window ends while the service is down.
    while datetime.now(UTC) <= datetime.fromisoformat(window_end):
        time.sleep(0.05)
    service.start()
    wait_for_state(service, "Restart1", "Running")
    with service.admin() as admin:
        pending = admin.get("/admin/schedule").json()["Scheduled"]
        history = admin.get("/admin/tenants/Restart1").json()["History"]
    assert [p["Id"] for p in pending] == [far["Id"]]
    assert [h["Operation"] for h in history] == [
        "maintenance-done",
        "maintenance-online",
        "provision",
    ]
    valid_until = httpx.get(f"{service.url}/api/state/Restart1").json()["ValidUntil"]
    assert valid_until < far["At"].replace("+00:00", "Z")
