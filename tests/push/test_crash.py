"""Crash test: SIGKILL the service in the middle of a fan-out; nothing is lost."""

from __future__ import annotations

import json
import signal
import time
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import httpx2 as httpx
import pytest

from tests.push.conftest import PUSH_ENV
from tests.support.processes import ServiceProcess
from tests.support.receivers import Receiver


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A receiver of this test's own: the test runs once per way of delivering."""
    running = Receiver().start()
    yield running
    running.stop()


APPS = 50
TENANTS = 100  # x 2 operations x 50 applications = 10,000 deliveries


@pytest.mark.parametrize("processes", [0, 2], ids=["in-process", "two-dispatch-processes"])
def test_sigkill_during_fan_out_loses_nothing(
    tmp_path: Path, receiver: Receiver, processes: int
) -> None:
    env = {**PUSH_ENV, "TENANTSTATUS_DELIVERY_PROCESSES": str(processes)}
    service = ServiceProcess(tmp_path / "data", env=env).start()
    try:
        with service.admin() as admin:
            apps = []
            for n in range(APPS):
                created = admin.post(
                    "/admin/applications",
                    json={"Name": f"c{n}", "Url": f"{receiver.url}/ok/crash{n}"},
                )
                apps.append(created.json()["Application"]["Id"])
            tenants = [
                {"ContextIdentifier": f"Crash{n}", "Endpoint": "https://h/x", "State": "Running"}
                for n in range(TENANTS)
            ]
            assert admin.post("/admin/tenants/import", json={"Tenants": tenants}).status_code == 200
            for app in apps:
                for n in range(TENANTS):
                    admin.put(f"/admin/applications/{app}/approvals/Crash{n}")
            for n in range(TENANTS):
                for operation in ("suspend", "resume"):
                    response = admin.post(
                        f"/admin/tenants/Crash{n}/operations", json={"Operation": operation}
                    )
                    assert response.status_code == 200
        expected = APPS * TENANTS * 2
        deadline = time.monotonic() + 120
        while len(_crash_requests(receiver)) < expected // 4:
            assert time.monotonic() < deadline, "the fan-out did not get going"
            time.sleep(0.01)
        service.stop(signal.SIGKILL)
        at_kill = len(_crash_requests(receiver))
        assert at_kill < expected, "the fan-out finished before the kill; nothing was tested"
        service.start()
        deadline = time.monotonic() + 240
        while len(_unique(receiver)) < expected:
            assert time.monotonic() < deadline, f"{len(_unique(receiver))} of {expected} arrived"
            time.sleep(0.1)
        # Deliveries in flight at the kill may have arrived already, yet stay pending
        # under the dead process's lease until it runs out; then they are sent again
        # (duplicates, same webhook-id) and recorded. Nothing stays pending.
        deadline = time.monotonic() + 120
        with httpx.Client(
            base_url=service.url, headers={"Authorization": f"Bearer {service.token}"}
        ) as admin:
            while admin.get("/admin/deliveries", params={"status": "pending"}).json()["Deliveries"]:
                assert time.monotonic() < deadline, "deliveries stayed pending"
                time.sleep(0.2)
        by_pair: dict[tuple[str, str], list[tuple[str, int]]] = defaultdict(list)
        seen_ids: dict[str, tuple[str, int]] = {}
        for request in _crash_requests(receiver):
            body = json.loads(request.body)
            delivery_id = request.headers["webhook-id"]
            key = (request.path, body["ContextIdentifier"])
            entry = (delivery_id, body["ChangeType"])
            # A duplicate is the same delivery: same id, same content.
            assert seen_ids.setdefault(delivery_id, entry) == entry
            by_pair[key].append(entry)
        assert len(by_pair) == APPS * TENANTS
        for deliveries in by_pair.values():
            first_seen = list(dict.fromkeys(deliveries))
            assert [change for _, change in first_seen] == [2, 3], first_seen
    finally:
        service.stop()


def _crash_requests(receiver: Receiver) -> list:  # type: ignore[type-arg]
    with receiver._lock:
        return [r for r in receiver.requests if r.path.startswith("/ok/crash")]


def _unique(receiver: Receiver) -> set[str]:
    return {r.headers["webhook-id"] for r in _crash_requests(receiver)}
