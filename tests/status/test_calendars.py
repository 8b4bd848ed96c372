"""The maintenance calendars from a real service, read by `icalendar` and by calcurse.

A window is rescheduled the way an operator does it (cancel its end, schedule another),
gets a note, and is cancelled; each time the same UID comes back with a higher
SEQUENCE. calcurse (Debian's) imports the file into a data directory of its own.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx2 as httpx
import icalendar
import pytest

from tenantstatus.model import TenantState
from tests.support.processes import ServiceProcess

HOSTILE = "Swap <script>alert(1)</script>\nthen, with commas; and semicolons \\ done."


def _stamp(instant: datetime) -> str:
    return instant.strftime("%Y-%m-%dT%H:%M:%SZ")


def calendar(service: ServiceProcess, ctx: str) -> tuple[bytes, icalendar.Calendar]:
    answer = httpx.get(f"{service.url}/status/{ctx}/calendar.ics")
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "text/calendar; charset=utf-8"
    assert answer.headers["x-content-type-options"] == "nosniff"
    return answer.content, icalendar.Calendar.from_ical(answer.content)


def events(parsed: icalendar.Calendar) -> list[Any]:
    return list(parsed.walk("VEVENT"))


@dataclass
class Window:
    """A tenant with a planned window, as the operator set it up."""

    service: ServiceProcess
    ctx: str
    opener: int
    closer: int
    start: datetime
    end: datetime

    def schedule(self, operation: str, at: datetime, **extra: str) -> int:
        with self.service.admin() as admin:
            answer = admin.post(
                f"/admin/tenants/{self.ctx}/operations",
                json={"Operation": operation, "At": _stamp(at), **extra},
            )
        assert answer.status_code == 202, answer.text
        return int(answer.json()["Id"])

    def cancel(self, scheduled_id: int) -> None:
        with self.service.admin() as admin:
            admin.delete(f"/admin/schedule/{scheduled_id}").raise_for_status()


def planned_window(service: ServiceProcess, ctx: str) -> Window:
    with service.admin() as admin:
        admin.post(
            "/admin/tenants",
            json={
                "ContextIdentifier": ctx,
                "Endpoint": f"https://sod4.example.com/{ctx}",
                "State": "Running",
                "VersionName": "Release 1",
                "FileVersion": "1.0",
            },
        ).raise_for_status()
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=3)
    window = Window(service, ctx, 0, 0, start, start + timedelta(hours=1))
    window.opener = window.schedule("maintenance-offline", start, Message=HOSTILE)
    window.closer = window.schedule("maintenance-done", window.end)
    return window


def test_a_planned_window_is_one_event_with_its_message(service: ServiceProcess) -> None:
    window = planned_window(service, "CalOne")
    raw, parsed = calendar(service, "CalOne")
    assert parsed["VERSION"] == "2.0" and "tenantstatus" in str(parsed["PRODID"])
    (event,) = events(parsed)
    assert str(event["UID"]) == f"CalOne-s{window.opener}@127.0.0.1"
    assert event.decoded("DTSTART") == window.start
    assert event.decoded("DTEND") == window.end
    assert str(event["STATUS"]) == "CONFIRMED"
    assert str(event["SUMMARY"]) == "Offline maintenance of CalOne"
    assert str(event["URL"]) == f"{service.url}/status/CalOne"
    description = str(event["DESCRIPTION"])
    assert HOSTILE in description
    assert f"Status page: {service.url}/status/CalOne" in description
    # Escaped as RFC 5545 says: commas, semicolons, backslashes and newlines.
    unfolded = raw.replace(b"\r\n ", b"")
    assert b"then\\, with commas\\; and semicolons \\\\ done." in unfolded
    assert b"</script>\\nthen" in unfolded
    assert all(line.endswith(b"\r") for line in raw.split(b"\n")[:-1])


def test_a_reschedule_keeps_the_uid_and_raises_the_sequence(service: ServiceProcess) -> None:
    window = planned_window(service, "CalMove")
    (before,) = events(calendar(service, "CalMove")[1])
    window.cancel(window.closer)
    later = window.end + timedelta(hours=1)
    window.schedule("maintenance-done", later)
    (after,) = events(calendar(service, "CalMove")[1])
    assert str(after["UID"]) == str(before["UID"])
    assert int(after["SEQUENCE"]) > int(before["SEQUENCE"])
    assert after.decoded("DTEND") == later
    assert after.decoded("DTSTART") == before.decoded("DTSTART")
    again = events(calendar(service, "CalMove")[1])[0]
    assert int(again["SEQUENCE"]) == int(after["SEQUENCE"])  # a read changes nothing


def test_a_note_raises_the_sequence_and_joins_the_description(service: ServiceProcess) -> None:
    planned_window(service, "CalNote")
    (before,) = events(calendar(service, "CalNote")[1])
    with service.admin() as admin:
        admin.post("/admin/tenants/CalNote/notes", json={"Body": "Moved racks; same time."})
    (after,) = events(calendar(service, "CalNote")[1])
    assert int(after["SEQUENCE"]) == int(before["SEQUENCE"]) + 1
    assert "UTC: Moved racks; same time." in str(after["DESCRIPTION"])


def test_a_cancelled_window_stays_as_cancelled(service: ServiceProcess) -> None:
    window = planned_window(service, "CalGone")
    (before,) = events(calendar(service, "CalGone")[1])
    window.cancel(window.opener)
    (after,) = events(calendar(service, "CalGone")[1])
    assert str(after["UID"]) == str(before["UID"])
    assert str(after["STATUS"]) == "CANCELLED"
    assert int(after["SEQUENCE"]) > int(before["SEQUENCE"])


def test_an_upgrade_under_way_is_an_event_until_its_expected_end(service: ServiceProcess) -> None:
    with service.admin() as admin:
        admin.post(
            "/admin/tenants",
            json={
                "ContextIdentifier": "CalUp",
                "Endpoint": "https://sod4.example.com/CalUp",
                "State": "Running",
            },
        ).raise_for_status()
        until = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=2)
        admin.post(
            "/admin/tenants/CalUp/operations",
            json={
                "Operation": "upgrade",
                "VersionName": "Release 9",
                "FileVersion": "9.0",
                "Message": "Upgrading.",
                "Until": _stamp(until),
            },
        ).raise_for_status()
    (event,) = events(calendar(service, "CalUp")[1])
    assert str(event["SUMMARY"]) == "Upgrade to Release 9 of CalUp"
    assert event.decoded("DTEND") == until
    assert "Upgrading." in str(event["DESCRIPTION"])
    (same,) = events(calendar(service, "CalUp")[1])
    assert str(same["UID"]) == str(event["UID"])


def test_maintenance_run_at_once_without_a_message_is_an_open_event(
    service: ServiceProcess,
) -> None:
    with service.admin() as admin:
        admin.post(
            "/admin/tenants",
            json={
                "ContextIdentifier": "CalBare",
                "Endpoint": "https://sod4.example.com/CalBare",
                "State": "OfflineMaintenance",
            },
        ).raise_for_status()
    _, parsed = calendar(service, "CalBare")
    (event,) = events(parsed)
    assert str(event["SUMMARY"]) == "Offline maintenance of CalBare"
    assert "DTEND" not in event  # no end planned nor expected
    assert str(event["STATUS"]) == "CONFIRMED" and int(event["SEQUENCE"]) == 0


def test_calcurse_imports_the_calendar(service: ServiceProcess, tmp_path: Path) -> None:
    calcurse = shutil.which("calcurse")
    if calcurse is None:
        pytest.fail("calcurse is missing: apt-get install calcurse (see .ci/run)")
    window = planned_window(service, "CalCurse")
    raw, _ = calendar(service, "CalCurse")
    (tmp_path / "tenant.ics").write_bytes(raw)
    env = {**os.environ, "TZ": "UTC", "HOME": str(tmp_path)}
    data = tmp_path / "calcurse"
    imported = subprocess.run(
        [calcurse, "-D", str(data), "-i", str(tmp_path / "tenant.ics")],
        capture_output=True, text=True, env=env, timeout=60, check=False,
    )  # fmt: skip
    assert imported.returncode == 0, imported.stderr
    assert "1 app / 0 events / 0 todos / 0 skipped" in imported.stdout
    day = window.start.strftime("%m/%d/%Y")
    listed = subprocess.run(
        [calcurse, "-D", str(data), "-Q", "--from", day, "--days", "1",
         "--format-apt", "%(start:%Y-%m-%dT%H:%M)|%(end:%Y-%m-%dT%H:%M)|%m|%n\n"],
        capture_output=True, text=True, env=env, timeout=60, check=False,
    )  # fmt: skip
    assert listed.returncode == 0, listed.stderr
    (line,) = [line for line in listed.stdout.splitlines() if "|" in line]
    start, end, summary, note = line.split("|")
    assert start == window.start.strftime("%Y-%m-%dT%H:%M")
    assert end == window.end.strftime("%Y-%m-%dT%H:%M")
    assert summary == "Offline maintenance of CalCurse"
    assert HOSTILE in (data / "notes" / note).read_text()


def test_the_calendar_of_every_tenant_is_for_the_operator(service: ServiceProcess) -> None:
    planned_window(service, "CalAllA")
    planned_window(service, "CalAllB")
    url = f"{service.url}/status/calendar.ics"
    for refused in (httpx.get(url), httpx.get(url, auth=("anyone", "wrong"))):
        assert refused.status_code == 401
        assert refused.headers["www-authenticate"].startswith("Basic ")
    for auth in ({"auth": ("anyone", service.token)},
                 {"headers": {"Authorization": f"Bearer {service.token}"}}):  # fmt: skip
        answer = httpx.get(url, **auth)
        assert answer.status_code == 200
        assert answer.headers["cache-control"].startswith("private")
        parsed = icalendar.Calendar.from_ical(answer.content)
        summaries = {str(e["SUMMARY"]) for e in events(parsed)}
        assert {"Offline maintenance of CalAllA", "Offline maintenance of CalAllB"} <= summaries


def test_an_unknown_tenant_has_no_calendar(service: ServiceProcess) -> None:
    assert httpx.get(f"{service.url}/status/CalNobody/calendar.ics").status_code == 404
    assert httpx.get(f"{service.url}/status/9bad/calendar.ics").status_code == 404


def test_pages_announce_their_calendars(service: ServiceProcess) -> None:
    planned_window(service, "CalPage")
    page = httpx.get(f"{service.url}/status/CalPage").text
    assert (
        '<link rel="alternate" type="text/calendar" title="CalPage: maintenance" '
        'href="/status/CalPage/calendar.ics">' in page
    )
    assert '<a href="/status/CalPage/calendar.ics" type="text/calendar">' in page
    overview = httpx.get(f"{service.url}/status", auth=("operator", service.token)).text
    assert 'type="text/calendar" title="Maintenance of every tenant"' in overview
    assert '<a href="/status/calendar.ics" type="text/calendar">' in overview


def test_a_tenant_in_any_state_has_a_calendar_and_a_v2_api(service: ServiceProcess) -> None:
    created = 0
    for state in TenantState:
        ctx = f"CalState{state.name}"
        with service.admin() as admin:
            answer = admin.post(
                "/admin/tenants",
                json={
                    "ContextIdentifier": ctx,
                    "Endpoint": f"https://h/{ctx}",
                    "State": state.name,
                },
            )
        if answer.status_code == 422:
            continue  # not a state a tenant can be created in
        assert answer.status_code == 201, answer.text
        created += 1
        calendar(service, ctx)
        for name in ("summary.json", "incidents.json", "scheduled-maintenances.json"):
            assert httpx.get(f"{service.url}/status/{ctx}/api/v2/{name}").status_code == 200
    assert created >= 7


def test_a_window_that_ran_keeps_its_uid_and_planned_end(service: ServiceProcess) -> None:
    with service.admin() as admin:
        admin.post(
            "/admin/tenants",
            json={
                "ContextIdentifier": "CalRan",
                "Endpoint": "https://sod4.example.com/CalRan",
                "State": "Running",
            },
        ).raise_for_status()
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=2)
    window = Window(service, "CalRan", 0, 0, start, start + timedelta(seconds=2))
    window.opener = window.schedule("maintenance-offline", window.start, Message="Quick one.")
    window.closer = window.schedule("maintenance-done", window.end)
    (planned,) = events(calendar(service, "CalRan")[1])
    deadline = time.monotonic() + 30
    with service.admin() as admin:
        while admin.get(f"/admin/schedule/{window.closer}").json()["Status"] == "pending":
            assert time.monotonic() < deadline, "the scheduler never ran the window"
            time.sleep(0.2)
    (ran,) = events(calendar(service, "CalRan")[1])
    assert str(ran["UID"]) == str(planned["UID"])
    assert ran.decoded("DTEND") == window.end
    assert ran.decoded("DTSTART") >= window.start
    assert int(ran["SEQUENCE"]) > int(planned["SEQUENCE"])
    assert str(ran["STATUS"]) == "CONFIRMED"
