"""A disabled application misses nothing: its notifications are held until `app enable`.

Each test drives a real service and a real receiver, through the CLI a vendor uses.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tenantstatus.model import ChangeType
from tests.push.conftest import PUSH_ENV, Registered, operate, register, tenant
from tests.support.processes import ServiceProcess
from tests.support.receivers import Receiver

SUSPEND, RESUME = int(ChangeType.Suspend), int(ChangeType.Resume)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A receiver of this test's own (the tests run once per way of delivering)."""
    running = Receiver().start()
    yield running
    running.stop()


def listed(service: ServiceProcess, app: Registered) -> list[dict[str, Any]]:
    """The application's deliveries through `deliveries list --json`, oldest first."""
    page = json.loads(service.cli("deliveries", "list", "--app", app.id, "--json").stdout)
    deliveries: list[dict[str, Any]] = page["Deliveries"]
    return list(reversed(deliveries))


def wait_until_disabled(service: ServiceProcess, app: Registered) -> None:
    with service.admin() as admin:
        deadline = time.monotonic() + 15
        while admin.get(f"/admin/applications/{app.id}").json()["Enabled"]:
            assert time.monotonic() < deadline, "the 410 did not disable the application"
            time.sleep(0.05)


def disabled_by_a_410(
    service: ServiceProcess, receiver: Receiver, name: str, ctx: str
) -> Registered:
    """An application whose receiver answered 410 to a Suspend of the new tenant `ctx`."""
    app = register(service, f"{receiver.url}/gone/{name}")
    tenant(service, ctx, app)
    operate(service, ctx, "suspend")
    receiver.wait_for(name, 1)
    wait_until_disabled(service, app)
    return app


def wait_for_statuses(
    service: ServiceProcess, app: Registered, wanted: list[str]
) -> list[dict[str, Any]]:
    deadline = time.monotonic() + 20
    while True:
        found = listed(service, app)
        if [d["Status"] for d in found] == wanted:
            return found
        assert time.monotonic() < deadline, found
        time.sleep(0.1)


def change_types(receiver: Receiver, name: str) -> list[int]:
    return [json.loads(r.body)["ChangeType"] for r in receiver.received(name)]


def test_a_resume_made_while_disabled_reaches_the_receiver_after_enable(
    delivering_service: ServiceProcess, receiver: Receiver
) -> None:
    """The sequence of issue #15: 410 on a Suspend, the tenant resumes, enable, recover."""
    service = delivering_service
    app = register(service, f"{receiver.url}/gone/held-resume")
    witness = register(service, f"{receiver.url}/ok/held-witness")
    tenant(service, "HeldResume", app, witness)
    operate(service, "HeldResume", "suspend")
    receiver.wait_for("held-resume", 1)
    wait_until_disabled(service, app)
    operate(service, "HeldResume", "resume")
    # The enabled witness got the Resume, so the dispatcher has claimed since it was
    # written: the disabled application's copy was held, never sent.
    receiver.wait_for("held-witness", 2)
    held = listed(service, app)
    assert [(d["ChangeType"], d["Status"]) for d in held] == [
        ("Suspend", "held"),
        ("Resume", "held"),
    ]
    assert len(receiver.received("held-resume")) == 1
    table = service.cli("deliveries", "list", "--app", app.id, "--status", "held").stdout
    assert table.count("held") >= 2 and held[1]["Id"] in table
    # The vendor fixes its receiver, enables, and recovers what was dead.
    service.cli("app", "set-url", app.id, f"{receiver.url}/ok/held-resume")
    enabled = json.loads(service.cli("app", "enable", app.id, "--json").stdout)
    assert enabled["Enabled"] is True and enabled["Released"] == 2
    recovered = service.cli(
        "deliveries", "recover", app.id, "--since", "2000-01-01T00:00:00Z", "--json"
    )
    assert json.loads(recovered.stdout) == {"Recovered": 0}  # nothing was dead
    receiver.wait_for("held-resume", 3)
    wait_for_statuses(service, app, ["delivered", "delivered"])
    assert change_types(receiver, "held-resume") == [SUSPEND, SUSPEND, RESUME]
    with service.admin() as admin:
        state = admin.get("/admin/tenants/HeldResume").json()["Tenant"]["State"]
    assert state == "Running"  # and the receiver's last word says so


def test_enable_drop_held_drops_them_and_the_receiver_gets_nothing_more(
    push_service: ServiceProcess, receiver: Receiver
) -> None:
    app = disabled_by_a_410(push_service, receiver, "held-drop", "HeldDrop")
    operate(push_service, "HeldDrop", "resume")
    push_service.cli("app", "set-url", app.id, f"{receiver.url}/ok/held-drop")
    shown = push_service.cli("app", "enable", app.id, "--drop-held").stdout
    assert "Dropped" in shown and "Enabled" in shown
    dropped = listed(push_service, app)
    assert [d["Status"] for d in dropped] == ["dropped", "dropped"]
    assert all("--drop-held" in d["LastError"] for d in dropped)
    # A later notification is sent, and only it: the dropped ones never are.
    operate(push_service, "HeldDrop", "suspend")
    receiver.wait_for("held-drop", 2)
    wait_for_statuses(push_service, app, ["dropped", "dropped", "delivered"])
    assert change_types(receiver, "held-drop") == [SUSPEND, SUSPEND]
    assert [r.headers["webhook-id"] for r in receiver.received("held-drop")][1] not in {
        d["Id"] for d in dropped
    }


def test_a_disabled_application_keeps_only_the_newest_held(
    tmp_path_factory: pytest.TempPathFactory, receiver: Receiver
) -> None:
    env = {**PUSH_ENV, "TENANTSTATUS_MAX_HELD_DELIVERIES": "2"}
    service = ServiceProcess(tmp_path_factory.mktemp("held") / "data", env=env).start()
    try:
        app = disabled_by_a_410(service, receiver, "held-cap", "HeldCap")
        for operation in ("resume", "suspend", "resume"):
            operate(service, "HeldCap", operation)
        found = wait_for_statuses(service, app, ["dropped", "dropped", "held", "held"])
        assert "more than 2 held" in found[0]["LastError"]
        assert [d["ChangeType"] for d in found[2:]] == ["Suspend", "Resume"]
        assert "dropped the 2 oldest held deliveries" in service.log_path.read_text()
    finally:
        service.stop()


def test_redeliver_refuses_a_held_delivery_and_it_stays_held(
    push_service: ServiceProcess, receiver: Receiver
) -> None:
    app = disabled_by_a_410(push_service, receiver, "held-redeliver", "HeldRedeliver")
    (held,) = wait_for_statuses(push_service, app, ["held"])
    result = push_service.cli("deliveries", "redeliver", held["Id"], check=False)
    assert result.returncode == 1, result
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"error: Delivery held (409): {held['Id']} is held")
    assert f"tenantstatus app enable {app.id}" in line
    assert [d["Status"] for d in listed(push_service, app)] == ["held"]
    with push_service.admin() as admin:
        answer = admin.post(f"/admin/deliveries/{held['Id']}/redeliver")
    assert answer.status_code == 409
    assert answer.headers["content-type"] == "application/problem+json"
    assert len(receiver.received("held-redeliver")) == 1
