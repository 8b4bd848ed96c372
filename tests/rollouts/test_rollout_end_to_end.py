"""THE BIG ONE: a rollout over 1,000 tenants, end to end, with the sandbox as the tooling.

A real sandbox process (the real service inside, plus the platform's tooling) holds
1,000 tenants, each with three approved applications on one real receiver. One
rollout upgrades them all in waves of 25, at most 50 in progress; the tooling finishes
each upgrade after about a second, and a seeded 5 % run late, so the failure budget
pauses the rollout (the test resumes it, as an operator would). For every tenant it
asserts:

- at each application, Upgrade then Resume, each once by webhook-id;
- the cap held at every instant, rebuilt from the history's upgrade and upgrade-done;
- no state answer's ValidUntil reached past the tenant's planned instant (nor the
  instant its upgrade really began), polled from the public state API all along;
- exactly the scripted late tenants were counted late, and they paused the rollout.

About two to three minutes on a loaded two-core machine.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest

from tenantstatus.model import parse_instant
from tenantstatus.sandbox.tooling_script import Outcome, ToolingScript
from tests.rollouts.support import instant
from tests.sandbox.process import SandboxProcess
from tests.support.receivers import Receiver

pytestmark = pytest.mark.e2e

TENANTS = [f"Cust{10_001 + i}" for i in range(1000)]
APPS = ("app1", "app2", "app3")
NEW = "11.11.0"
CAP, BATCH, EXPECTED = 50, 25, 4
BUDGET_PERCENT = 2  # 20 late tenants spend it; the script makes 51 late
SCRIPT = ToolingScript(duration=1.0, jitter=0.2, late=0.05, late_by=5.0, seed=6)
TOOLING_ARGS = [
    *("--tenants", str(len(TENANTS)), "--upgrade-duration", "1s", "--upgrade-jitter", "0.2"),
    *("--upgrade-late", "0.05", "--upgrade-late-by", "5s", "--upgrade-seed", "6"),
]
RUN_DEADLINE = 200.0  # seconds for the waves, from the rollout's start

# What a notification is told by in these tests: its ChangeType and FileVersion.
VERSIONED = ("ChangeType", "FileVersion")


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    receiver = Receiver().start()
    yield receiver
    receiver.stop()


@pytest.fixture
def sandbox(tmp_path: Path, receiver: Receiver) -> Iterator[SandboxProcess]:
    notify = [f"{receiver.url}/ok/{name}" for name in APPS]
    sandbox = SandboxProcess(tmp_path, notify=notify, args=TOOLING_ARGS).start(timeout=90)
    yield sandbox
    sandbox.stop()


class StateWatch:
    """Sweeps the public state API over every tenant; keeps each answer not yet upgraded."""

    def __init__(self, url: str) -> None:
        self.client = httpx.Client(base_url=url, timeout=10.0)
        # (tenant, ValidUntil, when it was answered by, the planned instant read right
        # after if it was still pending)
        self.answers: list[tuple[str, datetime, datetime, datetime | None]] = []
        self.sweeps = 0

    def sweep(self, admin: httpx.Client) -> None:
        """One answer per tenant, then the pending plan: ValidUntil against it."""
        running: list[tuple[str, datetime, datetime]] = []
        for ctx in TENANTS:
            answer = self.client.get(f"/api/state/{ctx}")
            assert answer.status_code == 200, answer.text
            state = answer.json()
            if state["State"] == "Running":
                running.append((ctx, parse_instant(state["ValidUntil"]), datetime.now(UTC)))
        # Read after the answers: an instant may only have moved later since.
        page = admin.get("/admin/schedule", params={"limit": "1000"}).json()["Scheduled"]
        planned = {s["ContextIdentifier"]: parse_instant(s["At"]) for s in page}
        self.answers += [(ctx, valid, by, planned.get(ctx)) for ctx, valid, by in running]
        self.sweeps += 1


def _history(admin: httpx.Client, ctx: str) -> tuple[datetime, datetime]:
    """When the tenant's upgrade began and when the tooling reported it done."""
    history = admin.get(f"/admin/tenants/{ctx}").json()["History"]
    operations = [h["Operation"] for h in history]
    assert operations.count("upgrade") == 1 and operations.count("upgrade-done") == 1, (
        ctx,
        operations,
    )
    at = {h["Operation"]: parse_instant(h["At"]) for h in history}
    assert at["upgrade"] < at["upgrade-done"], (ctx, history)
    return at["upgrade"], at["upgrade-done"]


def test_a_rollout_over_a_thousand_tenants_keeps_every_promise_to_every_tenant(
    sandbox: SandboxProcess, receiver: Receiver
) -> None:
    late = {ctx for ctx in TENANTS if SCRIPT.fate(ctx, 0).outcome is Outcome.LATE}
    assert len(late) == 51  # 5.1 % of the thousand, picked by seed 6
    assert [t["ContextIdentifier"] for t in sandbox.info["Tenants"]] == TENANTS
    assert "5.0% late (5s more)" in sandbox.info["Tooling"]
    watch = StateWatch(sandbox.url)
    pauses: list[str] = []
    with sandbox.admin() as admin, watch.client:
        answer = admin.post(
            "/admin/rollouts",
            json={
                "Operation": "upgrade",
                "VersionName": "Release 11.11",
                "FileVersion": NEW,
                "Start": instant(8),
                "WindowEnd": instant(900),
                "BatchSize": BATCH,
                "MaxInProgress": CAP,
                "ExpectedDuration": EXPECTED,
                "MaxFailurePercent": BUDGET_PERCENT,
            },
        )
        assert answer.status_code == 201, answer.text
        rollout = answer.json()
        assert (rollout["TenantCount"], rollout["WaveCount"]) == (1000, 40)
        rollout_id = rollout["Id"]
        waves = [parse_instant(w) for w in rollout["Waves"]]
        # The selection is in ContextIdentifier order, 25 a wave: each tenant's instant.
        wave_of = {ctx: waves[i // BATCH] for i, ctx in enumerate(TENANTS)}

        deadline = time.monotonic() + RUN_DEADLINE
        while (shown := admin.get(f"/admin/rollouts/{rollout_id}").json())["Status"] != "done":
            assert time.monotonic() < deadline, shown["Progress"]
            if shown["Status"] == "paused":
                attention = {m["ContextIdentifier"] for m in shown["Attention"]}
                assert attention <= late, attention - late
                pauses.append(shown["Reason"])
                resumed = admin.post(f"/admin/rollouts/{rollout_id}/resume")
                assert resumed.status_code == 200, resumed.text
            watch.sweep(admin)
        final = shown
        histories = {ctx: _history(admin, ctx) for ctx in TENANTS}

        # Every notification reaches every application (the queue may still be draining).
        expected = {ctx: [(0, NEW), (3, NEW)] for ctx in TENANTS}
        drain = time.monotonic() + 60
        for app in APPS:
            while (found := receiver.notifications_by_tenant(app, *VERSIONED)) != expected:
                wrong = {c: n for c, n in found.items() if n != expected[c][: len(n)]}
                assert not wrong, (app, dict(list(wrong.items())[:5]))
                assert time.monotonic() < drain, (app, len(found))
                time.sleep(0.2)

    # (a) Upgrade, then Resume, each once by webhook-id, at each of the three applications.
    for app in APPS:
        assert receiver.notifications_by_tenant(app, *VERSIONED) == expected, app

    # (b) The cap held at every instant: rebuilt from the history, a finish before a start
    # at the same instant.
    changes = sorted(
        [(began, 1) for began, _ in histories.values()]
        + [(ended, -1) for _, ended in histories.values()],
        key=lambda change: (change[0], change[1]),
    )
    in_progress = peak = 0
    for at, change in changes:
        in_progress += change
        assert in_progress <= CAP, (at, in_progress)
        peak = max(peak, in_progress)
    assert peak > BATCH, peak  # two waves side by side: the cap, not the batch, bounded it
    # No tenant began before its wave's planned instant.
    early = [ctx for ctx, (began, _) in histories.items() if began < wave_of[ctx]]
    assert early == []

    # (c) No ValidUntil reached past the tenant's planned instant, nor past its upgrade.
    assert watch.sweeps >= 3
    # An answer still pending after its sweep, or in by the upgrade's end, came before it.
    before = [a for a in watch.answers if a[3] is not None or a[2] < histories[a[0]][1]]
    assert len(before) >= len(TENANTS)
    # Once a held tenant's instant has passed (until the conductor gives it a later one)
    # the service answers "ask again now": ValidUntil is the answer's own instant.
    past_plan = [(c, v, p) for c, v, by, p in before if p is not None and v > max(p, by)]
    assert past_plan == []
    # The promise itself: no answer let a client cache Running past the upgrade's start.
    # (An answer stamped in the moment the upgrade commits may still say Running; its
    # ValidUntil is then its own instant, expired on arrival.)
    past_start = [
        (c, v, by, histories[c][0]) for c, v, by, _ in before if v > max(histories[c][0], by)
    ]
    assert past_start == [], past_start[:5]
    first = {c: (v, by) for c, v, by, _ in reversed(before)}  # each tenant's first answer
    assert [c for c, (v, by) in first.items() if v > max(wave_of[c], by)] == []

    # (d) Exactly the scripted late tenants were late, and they paused the rollout.
    assert final["Progress"]["Done"] == 1000 and final["Progress"]["Late"] == len(late)
    assert final["Progress"]["Refused"] == 0
    flagged = {m["ContextIdentifier"] for m in final["Attention"] if m["Phase"] == "done_late"}
    assert flagged == late
    assert pauses and all("failure budget spent" in reason for reason in pauses), pauses
    conductor_pauses = [
        e for e in final["History"] if e["Action"] == "pause" and e["Actor"] == "conductor"
    ]
    assert len(conductor_pauses) == len(pauses) >= 2, final["History"]
    assert [e["Action"] for e in reversed(final["History"])][:2] == ["create", "start"]
    assert final["History"][0]["Action"] == "end"
    stats: dict[str, Any] = sandbox.stats()["Tooling"]
    assert stats["CompletedLate"] == len(late) and stats["GivenUp"] == 0, stats
