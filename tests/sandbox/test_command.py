"""`tenantstatus sandbox` as a vendor runs it: a real process on loopback."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import httpx2 as httpx
import pytest

from tenantstatus.model import TenantStatus, parse_instant
from tests.sandbox.process import SandboxProcess
from tests.support.processes import CLI

pytestmark = pytest.mark.e2e


def test_the_banner_gives_the_operator_token_the_tenants_and_the_application(
    tmp_path: Path,
) -> None:
    sandbox = SandboxProcess(tmp_path, notify=["http://127.0.0.1:9/notify"]).start()
    try:
        info = sandbox.info
        assert info["Url"] == info["Issuer"] == sandbox.url
        tenants = {t["ContextIdentifier"]: t for t in info["Tenants"]}
        assert sorted(tenants) == ["Cust10001", "Cust10002", "Cust10003"]
        assert tenants["Cust10003"]["Endpoint"] == f"{sandbox.url}/sim/sod3/Cust10003"
        (application,) = info["Applications"]
        assert application["Url"] == "http://127.0.0.1:9/notify"
        assert application["Token"].startswith("tsapp_")
        assert application["Secret"].startswith("whsec_")

        status = TenantStatus.from_json(httpx.get(f"{sandbox.url}/api/state/Cust10001").content)
        assert status.is_running
        assert status.api == status.endpoint + "/api"
        document = httpx.get(status.api).json()
        assert document["v1"] == status.endpoint + "/api/v1/"
        assert document["NetServerLabel"] == status.version

        with sandbox.admin() as admin:
            response = admin.post(
                "/admin/tenants/Cust10002/operations", json={"Operation": "suspend"}
            )
            assert response.status_code == 200, response.text
        # Every tenant approved the application: the suspension is on its way to it.
        own = {"Authorization": f"Bearer {application['Token']}"}
        deliveries = httpx.get(f"{sandbox.url}/admin/deliveries", headers=own).json()
        assert [(d["ContextIdentifier"], d["ChangeType"]) for d in deliveries["Deliveries"]] == [
            ("Cust10002", "Suspend")
        ]
    finally:
        sandbox.stop()


def test_a_client_that_ignores_the_state_is_counted_while_the_tenant_is_not_running(
    tmp_path: Path,
) -> None:
    sandbox = SandboxProcess(tmp_path, args=["--notice", "0"]).start()
    call = f"{sandbox.url}/sim/sod2/Cust10001/api/v1/Contact/1"
    try:
        assert httpx.get(call).status_code == 200
        with sandbox.admin() as admin:
            admin.post("/admin/tenants/Cust10001/operations", json={"Operation": "suspend"})
            refused = httpx.get(call)
            assert refused.status_code == 503
            assert int(refused.headers["retry-after"]) > 0
            admin.post("/admin/tenants/Cust10001/operations", json={"Operation": "resume"})
        assert httpx.get(call).status_code == 200
        counters = sandbox.stats()["Tenants"]["Cust10001"]
        assert counters["WhileNotRunning"] == 1
        assert counters["Served"] == 2
    finally:
        sandbox.stop()


def test_a_scenario_plays_planned_windows_repeats_unplanned_steps_and_refusals(
    tmp_path: Path,
) -> None:
    scenario = {
        "Notice": 0,
        "Steps": [
            {"At": "30s", "ContextIdentifier": "Cust10001", "Operation": "suspend"},
            {"At": 1, "ContextIdentifier": "Cust10002", "Operation": "suspend",
             "For": 0.5, "Every": 1.5, "Times": 2},
            {"At": 1, "ContextIdentifier": "Cust10003", "Operation": "incident", "For": 0.5},
            {"At": 0.5, "ContextIdentifier": "Cust10003", "Operation": "resume"},
        ],
    }  # fmt: skip
    sandbox = SandboxProcess(tmp_path, scenario=scenario).start()
    try:
        # A planned window is on the service's schedule from the start, so ValidUntil
        # never reaches past it.
        started = parse_instant(httpx.get(f"{sandbox.url}/sim/_scenario").json()["StartedAt"])
        answer = TenantStatus.from_json(httpx.get(f"{sandbox.url}/api/state/Cust10001").content)
        assert abs((answer.valid_until - started).total_seconds() - 30) < 1
        with sandbox.admin() as admin:
            schedule = admin.get("/admin/schedule", params={"context_identifier": "Cust10001"})
        assert [s["Operation"] for s in schedule.json()["Scheduled"]] == ["suspend"]

        sandbox.wait_played(
            lambda p: (
                p["ContextIdentifier"] == "Cust10002"
                and p["Operation"] == "resume"
                and p["Offset"] > 3
            ),
            "the second resume",
        )
        played = [(p["ContextIdentifier"], p["Operation"], p["Outcome"]) for p in sandbox.played()]
        assert [p for p in played if p[0] == "Cust10002"] == [
            ("Cust10002", "suspend", "done"),
            ("Cust10002", "resume", "done"),
        ] * 2
        assert ("Cust10003", "resume", "refused") in played
        assert ("Cust10003", "incident", "done") in played
        sandbox.wait_played(lambda p: p["Operation"] == "incident-done", "incident-done")
        announced = {
            (p["Operation"], p["Announced"])
            for p in sandbox.played()
            if p["ContextIdentifier"] == "Cust10002"
        }
        assert announced == {("suspend", "Suspend"), ("resume", "Resume")}
    finally:
        sandbox.stop()


def test_a_sandbox_on_the_data_of_an_earlier_one_moves_its_tenants_and_drops_its_windows(
    tmp_path: Path,
) -> None:
    scenario = {
        "Steps": [{"At": "1h", "ContextIdentifier": "Cust10001", "Operation": "suspend",
                   "For": "1m"}]
    }  # fmt: skip
    first = SandboxProcess(tmp_path, scenario=scenario).start()
    try:
        with first.admin() as admin:
            assert len(admin.get("/admin/schedule").json()["Scheduled"]) == 2
    finally:
        first.stop()
    second = SandboxProcess(tmp_path).start()
    try:
        with second.admin() as admin:
            assert admin.get("/admin/schedule").json()["Scheduled"] == []
        endpoints = [tenant["Endpoint"] for tenant in second.info["Tenants"]]
        assert all(endpoint.startswith(second.url + "/sim/") for endpoint in endpoints)
        status = TenantStatus.from_json(httpx.get(f"{second.url}/api/state/Cust10001").content)
        assert status.is_running and status.endpoint.startswith(second.url)
        assert httpx.get(status.endpoint + "/api/v1/Contact/1").status_code == 200
    finally:
        second.stop()


def test_a_scenario_with_a_mistake_is_refused_before_anything_starts(tmp_path: Path) -> None:
    path = tmp_path / "scenario.json"
    path.write_text('{"Steps": [{"At": 1, "ContextIdentifier": "Cust10001", "Operation": "x"}]}')
    result = subprocess.run(
        [*CLI, "sandbox", "--scenario", str(path), "--port", "1"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "Steps[0].Operation: unknown 'x'" in result.stderr


def test_without_a_data_directory_the_sandbox_cleans_up_after_itself(tmp_path: Path) -> None:
    sandbox = SandboxProcess(tmp_path)
    sandbox.command = [part for part in sandbox.command if part != "--data-dir"]
    sandbox.command.remove(str(tmp_path / "data"))
    sandbox.start()
    data_dir = Path(sandbox.info["DataDir"])
    assert (data_dir / "tenantstatus.db").exists()
    sandbox.stop()
    deadline = time.monotonic() + 5
    while data_dir.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not data_dir.exists()
