"""The gate's sans-I/O core and the tenant transport's URL rule, without any network."""

from __future__ import annotations

from datetime import timedelta

import httpx2 as httpx

from tenantstatus.client import PulledStatus, TenantEventKind
from tenantstatus.client.gate_core import GateCore
from tenantstatus.client.transport import tenant_path
from tenantstatus.model import ChangeType, StateChangeNotification
from tests.support.clock import ManualClock as FakeClock


def _status(clock: FakeClock, state: str, endpoint: str = "https://sod2.x/Cust1") -> PulledStatus:
    return PulledStatus(
        context_identifier="Cust1",
        endpoint=endpoint,
        state_name=state,
        is_running=state in ("Running", "OnlineMaintenance"),
        valid_until=clock.now() + timedelta(seconds=60),
        api=endpoint + "/api",
        fetched_at=clock.now(),
    )


def _news(change: int) -> StateChangeNotification:
    return StateChangeNotification(change, "Cust1", "R2", "2.0", "token")


def test_an_upgrade_announced_ahead_ends_after_resume_after_if_never_seen_down() -> None:
    clock = FakeClock()
    core = GateCore(clock, resume_after=timedelta(minutes=10))
    core.observe(_status(clock, "Running"))
    assert [e.kind for e in core.apply(_news(ChangeType.Upgrade)).events] == [TenantEventKind.PAUSE]
    clock.advance(60)
    assert core.observe(_status(clock, "Running")) == []
    assert core.refusal(_status(clock, "Running")) is not None
    clock.advance(600)
    assert [e.kind for e in core.observe(_status(clock, "Running"))] == [TenantEventKind.RESUME]
    assert core.refusal(_status(clock, "Running")) is None


def test_a_pulled_answer_from_before_the_pause_does_not_end_it() -> None:
    clock = FakeClock()
    core = GateCore(clock, resume_after=timedelta(0))
    before = _status(clock, "Running")
    clock.advance(1)
    core.apply(_news(ChangeType.Suspend))
    assert core.observe(before) == []
    assert core.is_paused("Cust1")


def test_an_unknown_change_type_only_asks_for_a_fresh_pull() -> None:
    clock = FakeClock()
    effect = GateCore(clock, resume_after=timedelta(0)).apply(_news(42))
    assert effect.events == ()
    assert effect.repull is True


def test_a_new_endpoint_is_a_move_and_deleted_is_a_delete() -> None:
    clock = FakeClock()
    core = GateCore(clock, resume_after=timedelta(0))
    core.observe(_status(clock, "Running"))
    moved = core.observe(_status(clock, "Running", endpoint="https://sod3.x/Cust1"))
    assert [e.kind for e in moved] == [TenantEventKind.MOVE]
    assert moved[0].endpoint == "https://sod3.x/Cust1"
    deleted = core.observe(_status(clock, "Deleted", endpoint="https://sod3.x/Cust1"))
    assert [e.kind for e in deleted] == [TenantEventKind.PAUSE, TenantEventKind.DELETE]


def test_tenant_paths_follow_the_placeholder_host_and_the_current_endpoint() -> None:
    endpoint = "https://sod2.x/Cust1"
    placeholder = httpx.URL("http://tenant.invalid/api/v1/Contact?q=1")
    assert tenant_path(placeholder, endpoint) == "/api/v1/Contact?q=1"
    assert tenant_path(httpx.URL("https://sod2.x/Cust1/api/v1/A"), endpoint) == "/api/v1/A"
    assert tenant_path(httpx.URL("https://sod2.x/Cust10/api"), endpoint) is None
    assert tenant_path(httpx.URL("https://elsewhere.x/api"), endpoint) is None
