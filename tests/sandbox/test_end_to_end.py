"""End to end: a vendor app on the SDK against a real `tenantstatus sandbox` process.

The scenario upgrades one tenant, moves another, suspends and resumes a third and
deletes a fourth, through the real service, which pushes signed notifications to the
app's receiver. The app keeps working through all of it, follows the move after one
421, and the installations never get a call while they are not running.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.sandbox.process import SandboxProcess
from tests.sandbox.vendor import VendorApp

pytestmark = pytest.mark.e2e

UPGRADED, MOVED, SUSPENDED, DELETED = "CustUp1", "CustMove1", "CustSusp1", "CustDel1"
SCENARIO = {
    "Notice": 1,
    "Tenants": [
        {"ContextIdentifier": UPGRADED, "Host": "sod2"},
        {"ContextIdentifier": MOVED, "Host": "sod2"},
        {"ContextIdentifier": SUSPENDED, "Host": "sod2"},
        {"ContextIdentifier": DELETED, "Host": "sod3"},
    ],
    "Steps": [
        {"At": 4, "ContextIdentifier": UPGRADED, "Operation": "upgrade", "For": 3},
        {"At": 10, "ContextIdentifier": MOVED, "Operation": "move", "To": "sod3"},
        {"At": 13, "ContextIdentifier": SUSPENDED, "Operation": "suspend", "For": 3},
        {"At": 19, "ContextIdentifier": DELETED, "Operation": "delete", "For": 1},
    ],
}


def _played(operation: str, ctx: str) -> Callable[[dict[str, Any]], bool]:
    return lambda p: bool(p["Operation"] == operation and p["ContextIdentifier"] == ctx)


def test_a_vendor_app_keeps_working_through_upgrade_move_suspension_and_deletion(
    tmp_path: Path,
) -> None:
    app = VendorApp([UPGRADED, MOVED, SUSPENDED, DELETED])
    # A long TTL: the app's cached answer for the moved tenant outlives the move.
    sandbox = SandboxProcess(
        tmp_path, scenario=SCENARIO, notify=[app.notify_url], args=["--state-ttl", "60"]
    ).start()
    try:
        application = sandbox.info["Applications"][0]
        assert application["Url"] == app.notify_url
        app.start(sandbox.url, application["Id"])
        app.wait_for(lambda: all(app.calls_for(ctx) for ctx in app.tenants), "first calls")

        # The upgrade: paused by the Upgrade notification, back on Resume, new version.
        app.wait_for(lambda: app.notified("Resume", UPGRADED), "the upgrade's Resume", 20)
        assert app.heard("pause", UPGRADED) and app.heard("resume", UPGRADED)

        # The move, while the app's receiver is down for a deploy: the app learns of it
        # from the old host's 421, re-pulls, and follows.
        app.outage.set()
        assert not [p for p in sandbox.played() if p["Operation"] == "move"], (
            "the move came before the receiver went down; the machine is too slow for "
            "this scenario's timings"
        )
        app.wait_for(
            lambda: any(
                "/sim/sod3/" in call.url and call.status == 200 for call in app.calls_for(MOVED)
            ),
            "a call on the new host",
        )
        app.outage.clear()
        app.wait_for(lambda: app.notified("Move", MOVED), "the late Move notification")

        # The suspension and the resume.
        app.wait_for(lambda: app.notified("Resume", SUSPENDED), "the suspension's Resume", 20)
        app.wait_for(lambda: app.heard("resume", SUSPENDED), "resuming the suspended tenant")

        # The deletion: the app forgets the tenant.
        app.wait_for(lambda: app.heard("delete", DELETED), "the deletion", 20)
        sandbox.wait_played(_played("delete-done", DELETED), "delete-done")
        last_calls = {ctx: len(app.calls_for(ctx)) for ctx in app.tenants}
        app.wait_for(
            lambda: all(len(app.calls_for(c)) > last_calls[c] + 3 for c in (UPGRADED, SUSPENDED)),
            "calls after everything",
        )
    finally:
        app.stop()
        stats = sandbox.stats() if sandbox.process is not None else {}
        sandbox.stop()

    # Never a call to a tenant while it was not running.
    counters = stats["Tenants"]
    assert stats["WhileNotRunning"] == 0, counters
    assert all(entry["WhileNotRunning"] == 0 for entry in counters.values()), counters

    # Every call got 200, except one 421 on the moved tenant's old host.
    assert app.snapshot(app.failures) == []
    misdirected = [call for call in app.snapshot(app.calls) if call.status != 200]
    assert [(c.context_identifier, c.status) for c in misdirected] == [(MOVED, 421)]
    assert "/sim/sod2/" in misdirected[0].url
    assert counters[MOVED]["Misdirected"] == 1
    assert counters[MOVED]["Host"] == "sod3"

    # The move: once on the old host, then only on the new one, heard once.
    moved_calls = app.calls_for(MOVED)
    first_421 = moved_calls.index(misdirected[0])
    assert all("/sim/sod2/" in c.url for c in moved_calls[:first_421])
    assert all("/sim/sod3/" in c.url for c in moved_calls[first_421 + 1 :])
    assert app.snapshot(app.events).count(("move", MOVED)) == 1

    # The upgraded tenant answers with its new version after the upgrade.
    versions = [c.body["Version"] for c in app.calls_for(UPGRADED) if c.body]
    assert versions[0] == "Release 11.10" and versions[-1] == "Release 11.11"

    # The deleted tenant: forgotten, no call after the deletion was announced.
    assert counters[DELETED]["State"] == "Deleted"
    assert app.heard("delete", DELETED)

    # Every notification arrived verified, in the order of the scenario per tenant.
    notifications = app.snapshot(app.notifications)
    for ctx, expected in [
        (UPGRADED, ["Upgrade", "Resume"]),
        (MOVED, ["Move"]),
        (SUSPENDED, ["Suspend", "Resume"]),
        (DELETED, ["Delete"]),
    ]:
        assert [change for change, c in notifications if c == ctx] == expected
