"""Retention end to end: a real service deletes finished deliveries past the retention."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.push.conftest import PUSH_ENV, Registered, operate, register, tenant
from tests.support.processes import ServiceProcess
from tests.support.receivers import Receiver

RETENTION_SECONDS = 2.0


@pytest.fixture
def short_retention(tmp_path: Path) -> Iterator[ServiceProcess]:
    env = {
        **PUSH_ENV,
        "TENANTSTATUS_DELIVERY_RETENTION_DAYS": repr(RETENTION_SECONDS / 86400),
        # The first attempt of a failing delivery is retried only in an hour: it stays
        # pending, with one attempt on record, for the whole test.
        "TENANTSTATUS_RETRY_SCHEDULE": "0,3600",
    }
    process = ServiceProcess(tmp_path / "data", env=env).start()
    yield process
    process.stop()


def deliveries(service: ServiceProcess, app: Registered) -> list[dict[str, Any]]:
    with service.admin() as admin:
        page = admin.get("/admin/deliveries", params={"application": app.id})
    assert page.status_code == 200, page.text
    found: list[dict[str, Any]] = page.json()["Deliveries"]
    return found


def wait_until(check: Any, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("not within the deadline")
        time.sleep(0.1)


def metric(service: ServiceProcess, name: str) -> float:
    with service.admin() as admin:
        text = admin.get("/metrics").text
    found = re.search(rf"^{re.escape(name)} (\S+)$", text, re.MULTILINE)
    assert found is not None, f"{name} not in /metrics"
    return float(found.group(1))


def test_finished_deliveries_go_after_the_retention_and_pending_ones_stay(
    short_retention: ServiceProcess, receiver: Receiver
) -> None:
    service = short_retention
    delivered = register(service, f"{receiver.url}/ok/ret-ok", "delivered")
    gone = register(service, f"{receiver.url}/gone/ret-gone", "gone")
    failing = register(service, f"{receiver.url}/flaky/100/ret-flaky", "failing")
    tenant(service, "Ret1", delivered, gone, failing)
    operate(service, "Ret1", "suspend")
    receiver.wait_for("ret-ok", 1)
    receiver.wait_for("ret-gone", 1)
    receiver.wait_for("ret-flaky", 1)
    (pending,) = deliveries(service, failing)
    # A 410 holds the delivery for `app enable`; held is not finished, so it stays until
    # the operator drops it, which finishes it.
    wait_until(lambda: [d["Status"] for d in deliveries(service, gone)] == ["held"])
    with service.admin() as admin:
        enabled = admin.post(f"/admin/applications/{gone.id}/enable", json={"DropHeld": True})
    assert enabled.status_code == 200, enabled.text

    wait_until(lambda: deliveries(service, delivered) == [] and deliveries(service, gone) == [])

    (still,) = deliveries(service, failing)
    assert (still["Id"], still["Status"], still["Attempts"]) == (pending["Id"], "pending", 1)
    with service.admin() as admin:
        detail = admin.get(f"/admin/deliveries/{pending['Id']}")
    assert detail.status_code == 200 and len(detail.json()["Attempts"]) == 1
    assert metric(service, "tenantstatus_delivery_retention_seconds") == pytest.approx(
        RETENTION_SECONDS
    )
    assert metric(service, 'tenantstatus_pruned_rows_total{table="deliveries"}') == 2
    assert metric(service, 'tenantstatus_pruned_rows_total{table="delivery_attempts"}') == 2
