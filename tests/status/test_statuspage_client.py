"""The npm `statuspage.io` client against a real service: every v2 call, per tenant.

The client is pointed at `{service}/status/{ContextIdentifier}` with `setApiUrl`, as a
Statuspage user would point it at their page, and runs in Node. (Its
`scheduledMaintenances.getActive` and `getAll` ask for `upcoming.json`, a bug of the
client; `active.json` and `scheduled-maintenances.json` are read over HTTP here too.)
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest
from jsonschema_rs import Draft202012Validator

from tests.support.processes import ServiceProcess

ROOT = Path(__file__).resolve().parents[2]
CLIENT = Path(__file__).parent / "clients" / "statuspage_client.cjs"
INSTALLED = ROOT / ".ci" / "node" / "node_modules" / "statuspage.io"
HOST = "sodsp.example.com"


def _stamp(instant: datetime) -> str:
    return instant.strftime("%Y-%m-%dT%H:%M:%SZ")


def _statuspage(text: str) -> str:
    """An API instant (`...:09.617960Z`) as Statuspage writes it (`...:09.617Z`)."""
    instant = datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)
    return f"{instant:%Y-%m-%dT%H:%M:%S}.{instant.microsecond // 1000:03d}Z"


def run_client(base: str) -> dict[str, Any]:
    """Every call of the real client against `base`; fails, never skips, without Node."""
    node = shutil.which("node")
    if node is None or not INSTALLED.exists():
        pytest.fail(
            "node and statuspage.io are needed: npm install --no-save --prefix .ci/node "
            "statuspage.io@3 (see .ci/run)"
        )
    done = subprocess.run(
        [node, str(CLIENT), base], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    found: dict[str, Any] = json.loads(done.stdout)
    return found


@dataclass
class World:
    """Three tenants: a window planned, an upgrade under way, a host-wide incident."""

    service: ServiceProcess
    planned: dict[str, Any]  # the scheduled operation that opens the window
    plan_start: datetime
    plan_end: datetime
    upgrade_until: datetime
    upgrade_posted: datetime
    notice: dict[str, Any]


@pytest.fixture(scope="module")
def world(service: ServiceProcess) -> Iterator[World]:
    now = datetime.now(UTC).replace(microsecond=0)
    start, end, until = (
        now + timedelta(days=2),
        now + timedelta(days=2, hours=1),
        now + timedelta(hours=2),
    )
    with service.admin() as admin:
        for ctx in ("SpPlan", "SpUp", "SpInc"):
            admin.post(
                "/admin/tenants",
                json={
                    "ContextIdentifier": ctx,
                    "Endpoint": f"https://{HOST if ctx == 'SpInc' else 'sod1.example.com'}/{ctx}",
                    "State": "Running",
                    "VersionName": "Release 1",
                    "FileVersion": "1.0",
                },
            ).raise_for_status()
        operations = "/admin/tenants/{}/operations".format
        planned = admin.post(
            operations("SpPlan"),
            json={
                "Operation": "maintenance-offline",
                "At": _stamp(start),
                "Message": "Disk swap on sod1; <b>not</b> markup.",
            },
        )
        planned.raise_for_status()
        admin.post(
            operations("SpPlan"), json={"Operation": "maintenance-done", "At": _stamp(end)}
        ).raise_for_status()
        before = datetime.now(UTC)
        admin.post(
            operations("SpUp"),
            json={
                "Operation": "upgrade",
                "VersionName": "Release 2",
                "FileVersion": "2.0",
                "Message": "Upgrading to Release 2.",
                "Until": _stamp(until),
            },
        ).raise_for_status()
        admin.post("/admin/tenants/SpUp/notes", json={"Body": "Halfway there."}).raise_for_status()
        notice = admin.post("/admin/notices", json={"Body": f"{HOST} is degraded.", "Host": HOST})
        notice.raise_for_status()
    yield World(service, planned.json(), start, end, until, before, notice.json())


def test_the_client_reads_a_planned_window_with_its_message(world: World) -> None:
    got = run_client(f"{world.service.url}/status/SpPlan")
    summary = got["summary"]
    assert summary["page"]["id"] == "SpPlan"
    assert summary["page"]["url"] == f"{world.service.url}/status/SpPlan"
    assert summary["status"] == {"indicator": "none", "description": "All Systems Operational"}
    assert got["status"] == {"page": summary["page"], "status": summary["status"]}
    assert [c["status"] for c in got["components"]["components"]] == ["operational"]
    assert summary["incidents"] == [] and got["unresolved"]["incidents"] == []
    (window,) = summary["scheduled_maintenances"]
    assert window["status"] == "scheduled" and window["impact"] == "maintenance"
    assert window["scheduled_for"] == _statuspage(_stamp(world.plan_start))
    assert window["scheduled_until"] == _statuspage(_stamp(world.plan_end))
    assert [u["body"] for u in window["incident_updates"]] == [
        "Disk swap on sod1; <b>not</b> markup."
    ]
    assert window["components"][0]["id"] == "SpPlan"
    assert got["upcoming"]["scheduled_maintenances"] == [window]


def test_created_at_is_when_the_window_was_posted_not_its_start(world: World) -> None:
    summary = run_client(f"{world.service.url}/status/SpPlan")["summary"]
    (window,) = summary["scheduled_maintenances"]
    posted = _statuspage(world.planned["CreatedAt"])
    assert window["created_at"] == posted
    assert window["incident_updates"][0]["created_at"] == posted
    assert window["created_at"] < window["scheduled_for"]
    assert window["updated_at"] >= window["created_at"]


def test_the_client_reads_an_upgrade_under_way_with_its_updates(world: World) -> None:
    got = run_client(f"{world.service.url}/status/SpUp")
    summary = got["summary"]
    assert summary["status"]["indicator"] == "maintenance"
    assert [c["status"] for c in summary["components"]] == ["under_maintenance"]
    (window,) = summary["scheduled_maintenances"]
    assert window["status"] == "in_progress"
    assert window["name"] == "Upgrade to Release 2 of SpUp"
    assert window["scheduled_until"] == _statuspage(_stamp(world.upgrade_until))
    # Newest first, as Statuspage lists them.
    assert [u["body"] for u in window["incident_updates"]] == [
        "Halfway there.",
        "Upgrading to Release 2.",
    ]
    assert window["created_at"] >= _statuspage(world.upgrade_posted.isoformat())
    assert got["upcoming"]["scheduled_maintenances"] == []
    active = httpx.get(f"{world.service.url}/status/SpUp/api/v2/scheduled-maintenances/active.json")
    assert active.json()["scheduled_maintenances"] == [window]


def test_the_client_reads_a_host_incident_until_it_is_resolved(world: World) -> None:
    base = f"{world.service.url}/status/SpInc"
    got = run_client(base)
    (incident,) = got["unresolved"]["incidents"]
    assert incident["status"] == "identified"
    assert incident["name"] == f"Notice for every tenant on {HOST}"
    assert [u["body"] for u in incident["incident_updates"]] == [f"{HOST} is degraded."]
    assert incident["created_at"] == _statuspage(world.notice["PostedAt"])
    assert got["summary"]["incidents"] == [incident]
    assert got["incidents"]["incidents"] == [incident]
    with world.service.admin() as admin:
        admin.post(
            f"/admin/notices/{world.notice['Id']}/resolve", json={"Body": "Fixed."}
        ).raise_for_status()
    after = run_client(base)
    assert after["unresolved"]["incidents"] == [] and after["summary"]["incidents"] == []
    (resolved,) = after["incidents"]["incidents"]
    assert resolved["status"] == "resolved" and resolved["resolved_at"] is not None
    assert resolved["incident_updates"][0]["status"] == "resolved"
    assert "Fixed." in [u["body"] for u in resolved["incident_updates"]]


@pytest.mark.parametrize("ctx", ["SpPlan", "SpUp", "SpInc"])
def test_every_v2_document_matches_its_openapi_schema(world: World, ctx: str) -> None:
    document = httpx.get(f"{world.service.url}/openapi.json").json()
    checked = 0
    for path, item in document["paths"].items():
        if not path.startswith("/status/{ContextIdentifier}/") or not path.endswith(".json"):
            continue
        schema = item["get"]["responses"]["200"]["content"]["application/json"]["schema"]
        answer = httpx.get(world.service.url + path.replace("{ContextIdentifier}", ctx))
        errors = [e.message for e in Draft202012Validator(schema).iter_errors(answer.json())]
        assert errors == [], (path, errors)
        checked += 1
    assert checked == 9  # eight v2 documents and the alias


def test_every_v2_document_has_the_statuspage_keys(world: World) -> None:
    keys = {
        "summary.json": {"page", "status", "components", "incidents", "scheduled_maintenances"},
        "status.json": {"page", "status"},
        "components.json": {"page", "components"},
        "incidents.json": {"page", "incidents"},
        "incidents/unresolved.json": {"page", "incidents"},
        "scheduled-maintenances.json": {"page", "scheduled_maintenances"},
        "scheduled-maintenances/upcoming.json": {"page", "scheduled_maintenances"},
        "scheduled-maintenances/active.json": {"page", "scheduled_maintenances"},
    }
    for name, wanted in keys.items():
        answer = httpx.get(f"{world.service.url}/status/SpPlan/api/v2/{name}")
        assert answer.status_code == 200, name
        assert set(answer.json()) == wanted, name
    every = httpx.get(f"{world.service.url}/status/SpPlan/api/v2/scheduled-maintenances.json")
    assert [m["status"] for m in every.json()["scheduled_maintenances"]] == ["scheduled"]
    alias = httpx.get(f"{world.service.url}/status/SpPlan/summary.json").json()
    assert alias == httpx.get(f"{world.service.url}/status/SpPlan/api/v2/summary.json").json()


def test_the_client_gets_a_404_for_an_unknown_tenant(service: ServiceProcess) -> None:
    done = subprocess.run(
        ["node", str(CLIENT), f"{service.url}/status/SpNobody"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 3
    assert "HTTP 404" in done.stderr
