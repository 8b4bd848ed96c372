"""Rollouts against a real service: the frozen selection, its waves, the cap and control."""

from __future__ import annotations

import functools
import itertools
from datetime import UTC, datetime, timedelta

from tests.rollouts.support import (
    add_tenants,
    create,
    finish,
    instant,
    offline,
    poll,
    rollout_body,
    show,
)
from tests.support.processes import ServiceProcess


def newly_offline(service: ServiceProcess, ids: list[str], seen: frozenset[str]) -> list[str]:
    """The tenants offline that are not in `seen`, once a whole wave (2) of them is."""
    down = [c for c in offline(service, ids) if c not in seen]
    return down if len(down) == 2 else []


def test_create_freezes_the_selection_and_answers_each_waves_instant(
    service: ServiceProcess,
) -> None:
    ids = add_tenants(service, "rsel.example.com", 9)
    add_tenants(service, "rsel.example.com", 0)
    older = add_tenants(service, "rselold.example.com", 2, version="11.9.0")
    body = rollout_body(
        "rsel.example.com", Start=instant(120), BatchSize=4, MaxInProgress=4, ExpectedDuration=60
    )
    body["Select"]["Version"] = "11.10*"
    rollout = create(service, body)
    assert rollout["TenantCount"] == 9 and rollout["WaveCount"] == 3
    waves = [datetime.fromisoformat(w) for w in rollout["Waves"]]
    assert [(b - a).total_seconds() for a, b in itertools.pairwise(waves)] == [60, 60]
    assert rollout["Status"] == "scheduled" and rollout["Progress"]["Planned"] == 9
    add_tenants(service, "rsel.example.com", 12)  # created after: not in the rollout
    assert show(service, rollout["Id"])["TenantCount"] == 9
    with service.admin() as admin:
        answer = admin.get(f"/api/state/{ids[0]}").json()
        plan = admin.get("/admin/schedule", params={"tenant": ids[8]}).json()
    # ValidUntil is capped at the tenant's own planned instant, as for any scheduled op.
    assert datetime.fromisoformat(answer["ValidUntil"].replace("0Z", "+00:00")) <= waves[0]
    assert older[0] not in str(plan)


def test_a_plan_that_cannot_fit_its_window_is_refused_with_the_arithmetic(
    service: ServiceProcess,
) -> None:
    add_tenants(service, "rfit.example.com", 10)
    body = rollout_body(
        "rfit.example.com",
        Start=instant(60),
        WindowEnd=instant(60 + 1800),
        BatchSize=2,
        MaxInProgress=2,
        ExpectedDuration=600,
    )
    with service.admin() as admin:
        refused = admin.post("/admin/rollouts", json=body)
        listed = admin.get("/admin/rollouts").json()["Rollouts"]
    assert refused.status_code == 422
    detail = refused.json()["detail"]
    assert "10 tenants in 5 waves of 2: 5 × 10m = 50m exceeds the window of 30m" in detail  # noqa: RUF001
    assert all(r["Selection"].get("Host") != "rfit.example.com" for r in listed)


def test_a_tenant_in_an_unfinished_rollout_is_refused_to_another(service: ServiceProcess) -> None:
    add_tenants(service, "rover.example.com", 3)
    create(service, rollout_body("rover.example.com", Start=instant(600)))
    with service.admin() as admin:
        again = admin.post(
            "/admin/rollouts", json=rollout_body("rover.example.com", Start=instant(600))
        )
    assert again.status_code == 409
    assert "3 selected tenants are in an unfinished rollout already" in again.json()["detail"]


def test_waves_start_only_while_the_cap_holds_and_the_rollout_ends(
    service: ServiceProcess,
) -> None:
    ids = add_tenants(service, "rcap.example.com", 6)
    rollout = create(service, rollout_body("rcap.example.com", ExpectedDuration=2))
    first = poll(lambda: len(down := offline(service, ids)) == 2 and down)
    # Past the next wave's instant (the first wave is late by then), the cap still holds it.
    poll(lambda: show(service, rollout["Id"])["Progress"]["Late"] == 2)
    assert offline(service, ids) == first and len(first) == 2
    finished = set(first)
    finish(service, first)
    while len(finished) < 6:
        down = poll(functools.partial(newly_offline, service, ids, frozenset(finished)))
        assert len(offline(service, ids)) <= 2, down
        finish(service, down)
        finished |= set(down)
    done = poll(lambda: (r := show(service, rollout["Id"]))["Status"] == "done" and r)
    assert done["Progress"]["Done"] == 6 and done["Progress"]["Late"] >= 2
    assert [e["Action"] for e in reversed(done["History"])] == ["create", "start", "end"]
    with service.admin() as admin:
        history = admin.get(f"/admin/tenants/{ids[0]}").json()["History"]
    assert [h["Operation"] for h in history[:2]] == ["upgrade-done", "upgrade"]
    assert f"rollout:{rollout['Id']}" in history[1]["Actor"]


def test_pause_holds_the_next_wave_resume_releases_it_and_abort_cancels_the_rest(
    service: ServiceProcess,
) -> None:
    ids = add_tenants(service, "rpause.example.com", 6)
    rollout = create(service, rollout_body("rpause.example.com", ExpectedDuration=2))
    first = poll(lambda: len(down := offline(service, ids)) == 2 and down)
    with service.admin() as admin:
        paused = admin.post(f"/admin/rollouts/{rollout['Id']}/pause").json()
        assert paused["Status"] == "paused" and "paused by" in paused["Reason"]
        assert admin.post(f"/admin/rollouts/{rollout['Id']}/pause").status_code == 409
    finish(service, first)
    # Past the second wave's instant, paused: it stays planned.
    second_at = datetime.fromisoformat(show(service, rollout["Id"])["Waves"][1])
    poll(lambda: datetime.now(UTC) > second_at + timedelta(seconds=2))
    held = show(service, rollout["Id"])
    assert held["Progress"]["Planned"] == 4 and held["WavesReleased"] == 1
    assert offline(service, ids) == []
    with service.admin() as admin:
        admin.post(f"/admin/rollouts/{rollout['Id']}/resume")
    second = poll(lambda: len(down := offline(service, ids)) == 2 and down)
    assert set(second).isdisjoint(first)
    with service.admin() as admin:
        aborted = admin.post(f"/admin/rollouts/{rollout['Id']}/abort").json()
    assert aborted["Status"] == "aborted"
    assert aborted["Progress"]["Cancelled"] == 2 and aborted["Progress"]["InProgress"] == 2
    finish(service, second)  # tenants in progress finish
    ended = show(service, rollout["Id"])
    assert ended["Progress"]["Done"] == 4
    assert [e["Action"] for e in reversed(ended["History"])] == [
        "create",
        "start",
        "pause",
        "resume",
        "abort",
    ]
    assert all(e["Actor"] for e in ended["History"])


def test_late_tenants_past_the_failure_budget_pause_the_rollout_with_the_reason(
    service: ServiceProcess,
) -> None:
    ids = add_tenants(service, "rlate.example.com", 4)
    rollout = create(
        service,
        rollout_body("rlate.example.com", ExpectedDuration=1, MaxFailures=1, WindowEnd=instant(60)),
    )
    poll(lambda: offline(service, ids))
    paused = poll(lambda: (r := show(service, rollout["Id"]))["Status"] == "paused" and r)
    assert "failure budget spent: 2 late or refused tenants" in paused["Reason"]
    assert {m["Phase"] for m in paused["Attention"]} == {"late"}
    assert paused["Progress"]["Late"] == 2 and paused["Progress"]["Planned"] == 2
    assert paused["History"][0]["Actor"] == "conductor"


def test_a_refused_tenant_spends_the_budget_and_the_rollout_says_why(
    service: ServiceProcess,
) -> None:
    ids = add_tenants(service, "rrefuse.example.com", 4)
    rollout = create(service, rollout_body("rrefuse.example.com", Start=instant(3), MaxFailures=0))
    with service.admin() as admin:  # suspended before its instant: upgrade is refused then
        admin.post(f"/admin/tenants/{ids[0]}/operations", json={"Operation": "suspend"})
    paused = poll(lambda: (r := show(service, rollout["Id"]))["Status"] == "paused" and r)
    assert (
        "failure budget spent: 1 late or refused tenants, more than --max-failures 0"
        in (paused["Reason"])
    )
    refused = [m for m in paused["Attention"] if m["Phase"] == "refused"]
    assert [m["ContextIdentifier"] for m in refused] == [ids[0]]
    assert "upgrade is not allowed from Suspended" in refused[0]["Error"]
    assert paused["Progress"]["Refused"] == 1 and paused["Progress"]["Planned"] == 2
