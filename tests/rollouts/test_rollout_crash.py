"""A SIGKILL of serve mid-rollout: after a restart it goes on, nothing run twice or skipped."""

from __future__ import annotations

import functools
import signal
from pathlib import Path

from tests.push.conftest import PUSH_ENV, register
from tests.rollouts.support import add_tenants, create, finish, offline, poll, rollout_body, show
from tests.support.processes import ServiceProcess
from tests.support.receivers import Receiver

UPGRADE, RESUME = 0, 3


def whole_wave_offline(service: ServiceProcess, ids: list[str], seen: frozenset[str]) -> list[str]:
    down = [c for c in offline(service, ids) if c not in seen]
    return down if len(down) == 2 else []


def test_a_rollout_killed_mid_wave_resumes_after_restart(
    tmp_path: Path, receiver: Receiver
) -> None:
    service = ServiceProcess(tmp_path / "data", env=PUSH_ENV).start()
    try:
        app = register(service, f"{receiver.url}/ok/rkill", "kill")
        ids = add_tenants(service, "rkill.example.com", 6)
        with service.admin() as admin:
            for ctx in ids:
                admin.put(f"/admin/applications/{app.id}/approvals/{ctx}").raise_for_status()
        rollout = create(service, rollout_body("rkill.example.com", ExpectedDuration=2))
        first = poll(functools.partial(whole_wave_offline, service, ids, frozenset()))
        service.stop(signal.SIGKILL)
        service.start()
        finished: set[str] = set()
        down = first
        while True:
            finish(service, down)
            finished |= set(down)
            if len(finished) == 6:
                break
            down = poll(functools.partial(whole_wave_offline, service, ids, frozenset(finished)))
        done = poll(lambda: (r := show(service, rollout["Id"]))["Status"] == "done" and r)
        assert done["Progress"]["Done"] == 6 and done["Progress"]["Cancelled"] == 0
        with service.admin() as admin:
            for ctx in ids:
                history = admin.get(f"/admin/tenants/{ctx}").json()["History"]
                ran = [h["Operation"] for h in history if h["Operation"] != "provision"]
                assert ran == ["upgrade-done", "upgrade"], (ctx, ran)
        # Once by webhook-id: a redelivery after the kill is the same notification, so
        # twelve requests can arrive before the last Resume does.
        expected = {ctx: [(UPGRADE,), (RESUME,)] for ctx in ids}
        arrived = functools.partial(receiver.notifications_by_tenant, "rkill", "ChangeType")
        poll(lambda: arrived() == expected, timeout=30)
        assert arrived() == expected
    finally:
        service.stop()
