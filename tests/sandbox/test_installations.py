"""Simulated installations, in process, over a directory held in memory and a fake clock."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx2 as httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tenantstatus.lifecycle import Tenant
from tenantstatus.model import ChangeType, TenantState
from tenantstatus.sandbox.availability import Availability, availability
from tenantstatus.sandbox.installations import MISDIRECTED, InstallationSite
from tenantstatus.sandbox.releases import Release
from tenantstatus.store import HistoryEntry

BASE = "http://127.0.0.1:8080"
START = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
NOTICE = 2.0


class Clock:
    """Moves only when told to."""

    def __init__(self) -> None:
        self.instant = START

    def now(self) -> datetime:
        return self.instant

    def advance(self, seconds: float) -> None:
        self.instant += timedelta(seconds=seconds)


class Directory:
    """A `TenantDirectory` held in memory."""

    def __init__(self) -> None:
        self.tenants: dict[str, Tenant] = {}
        self.changes: dict[str, HistoryEntry] = {}
        self.upcoming: dict[str, datetime] = {}

    async def tenant(self, context_identifier: str) -> Tenant | None:
        return self.tenants.get(context_identifier)

    async def last_change(self, context_identifier: str) -> HistoryEntry | None:
        return self.changes.get(context_identifier)

    async def next_change(self, context_identifier: str) -> datetime | None:
        return self.upcoming.get(context_identifier)

    def change(self, ctx: str, to: TenantState, announces: ChangeType | None, at: datetime) -> None:
        tenant = self.tenants[ctx]
        self.changes[ctx] = HistoryEntry(1, ctx, "op", "test", at, tenant.state, to, announces, {})
        self.tenants[ctx] = replace(tenant, state=to, state_since=at)


def _tenant(ctx: str, host: str = "sod2", state: TenantState = TenantState.Running) -> Tenant:
    endpoint = f"{BASE}/sim/{host}/{ctx}"
    release = Release.initial()
    return Tenant(
        context_identifier=ctx,
        endpoint=endpoint,
        state=state,
        state_since=START,
        created_at=START,
        version_name=release.version_name,
        file_version=release.file_version,
        version_document=release.document(endpoint),
    )


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def directory() -> Directory:
    directory = Directory()
    directory.tenants["Cust1"] = _tenant("Cust1")
    return directory


@pytest.fixture
def site(directory: Directory, clock: Clock) -> InstallationSite:
    return InstallationSite(directory, clock, base_url=BASE, notice=NOTICE, known=("Cust1",))


@pytest.fixture
async def http(site: InstallationSite) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=site), base_url=BASE) as client:
        yield client


def _counters(site: InstallationSite, ctx: str = "Cust1") -> dict[str, int]:
    return site.counters[ctx].to_json()


@pytest.mark.anyio
async def test_a_running_tenant_answers_its_v1_calls(
    http: httpx.AsyncClient, site: InstallationSite
) -> None:
    response = await http.post("/sim/sod2/Cust1/api/v1/Contact/7?fields=name", content=b"hi")
    assert response.status_code == 200
    assert response.json() == {
        "ContextIdentifier": "Cust1",
        "Host": "sod2",
        "Method": "POST",
        "Path": "Contact/7",
        "Query": "fields=name",
        "Version": "Release 11.10",
        "Body": "hi",
    }
    assert _counters(site)["Served"] == 1


@pytest.mark.anyio
async def test_the_version_document_points_v1_at_the_endpoint_it_was_asked_on(
    http: httpx.AsyncClient,
) -> None:
    response = await http.get("/sim/sod2/Cust1/api")
    assert response.status_code == 200
    document = response.json()
    assert document["v1"] == f"{BASE}/sim/sod2/Cust1/api/v1/"
    assert document["NetServerLabel"] == "Release_11.10"
    assert all(isinstance(value, str) for value in document.values())


@pytest.mark.anyio
async def test_a_host_the_tenant_moved_away_from_answers_421(
    http: httpx.AsyncClient, site: InstallationSite, directory: Directory
) -> None:
    directory.tenants["Cust1"] = replace(
        directory.tenants["Cust1"], endpoint=f"{BASE}/sim/sod3/Cust1"
    )
    old = await http.get("/sim/sod2/Cust1/api/v1/Contact/1")
    assert old.status_code == 421
    assert old.text == MISDIRECTED
    assert (await http.get("/sim/sod3/Cust1/api/v1/Contact/1")).status_code == 200
    assert _counters(site) == {"Served": 1, "Misdirected": 1, "InNotice": 0, "WhileNotRunning": 0}
    assert site.host_of(directory.tenants["Cust1"].endpoint) == "sod3"


@pytest.mark.anyio
async def test_after_an_announced_suspension_it_serves_for_the_notice_then_refuses(
    http: httpx.AsyncClient, site: InstallationSite, directory: Directory, clock: Clock
) -> None:
    directory.change("Cust1", TenantState.Suspended, ChangeType.Suspend, clock.now())
    directory.upcoming["Cust1"] = clock.now() + timedelta(seconds=30)
    clock.advance(NOTICE - 0.5)
    assert (await http.get("/sim/sod2/Cust1/api/v1/Contact/1")).status_code == 200
    clock.advance(0.5)
    refused = await http.get("/sim/sod2/Cust1/api/v1/Contact/1")
    assert refused.status_code == 503
    assert refused.headers["retry-after"] == "28"
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["State"] == "Suspended"
    assert _counters(site) == {"Served": 1, "Misdirected": 0, "InNotice": 1, "WhileNotRunning": 1}


@pytest.mark.anyio
async def test_unannounced_offline_maintenance_refuses_at_once(
    http: httpx.AsyncClient, site: InstallationSite, directory: Directory, clock: Clock
) -> None:
    directory.change("Cust1", TenantState.OfflineMaintenance, None, clock.now())
    refused = await http.get("/sim/sod2/Cust1/api")
    assert refused.status_code == 503
    assert refused.headers["retry-after"] == "60"
    assert _counters(site)["WhileNotRunning"] == 1


@pytest.mark.anyio
async def test_a_call_to_a_down_tenant_on_an_old_host_counts_as_one_while_not_running(
    http: httpx.AsyncClient, site: InstallationSite, directory: Directory, clock: Clock
) -> None:
    directory.tenants["Cust1"] = replace(
        directory.tenants["Cust1"], endpoint=f"{BASE}/sim/sod3/Cust1"
    )
    directory.change("Cust1", TenantState.Suspended, ChangeType.Suspend, clock.now())
    clock.advance(NOTICE)
    assert (await http.get("/sim/sod2/Cust1/api/v1/x")).status_code == 421
    assert _counters(site) == {"Served": 0, "Misdirected": 1, "InNotice": 0, "WhileNotRunning": 1}


@pytest.mark.anyio
async def test_an_unknown_tenant_or_path_is_404(
    http: httpx.AsyncClient, site: InstallationSite
) -> None:
    assert (await http.get("/sim/sod2/Cust404/api/v1/x")).status_code == 404
    assert "Cust404" not in site.counters
    assert (await http.get("/sim/sod2/Cust1/admin")).status_code == 404
    assert _counters(site)["Served"] == 0


@pytest.mark.anyio
async def test_stats_show_every_tenant_and_the_total_while_not_running(
    http: httpx.AsyncClient, directory: Directory, clock: Clock
) -> None:
    directory.tenants["Cust2"] = _tenant("Cust2", "sod3")
    await http.get("/sim/sod3/Cust2/api/v1/x")
    directory.change("Cust1", TenantState.OfflineMaintenance, None, clock.now())
    await http.get("/sim/sod2/Cust1/api/v1/x")
    stats: dict[str, Any] = (await http.get("/sim/_stats")).json()
    assert stats == {
        "Tenants": {
            "Cust1": {"Served": 0, "Misdirected": 0, "InNotice": 0, "WhileNotRunning": 1,
                      "State": "OfflineMaintenance", "Host": "sod2"},
            "Cust2": {"Served": 1, "Misdirected": 0, "InNotice": 0, "WhileNotRunning": 0,
                      "State": "Running", "Host": "sod3"},
        },
        "WhileNotRunning": 1,
    }  # fmt: skip
    index = (await http.get("/sim")).json()
    assert [t["Endpoint"] for t in index["Tenants"]] == [
        f"{BASE}/sim/sod2/Cust1",
        f"{BASE}/sim/sod3/Cust2",
    ]


RUNNING = [TenantState.Running, TenantState.OnlineMaintenance]
DOWN = [state for state in TenantState if not state.is_running]


@given(
    st.sampled_from(list(TenantState)),
    st.sampled_from(list(TenantState)),
    st.sampled_from([None, *ChangeType]),
    st.floats(min_value=0, max_value=10),
    st.floats(min_value=0, max_value=10),
)
def test_an_installation_serves_only_running_or_within_notice_of_an_announced_pause(
    state: TenantState,
    before: TenantState,
    announces: ChangeType | None,
    elapsed: float,
    notice: float,
) -> None:
    tenant = replace(_tenant("Cust1"), state=state)
    change = HistoryEntry(1, "Cust1", "op", "test", START, before, state, announces, {})
    now = START + timedelta(seconds=elapsed)
    served = availability(tenant, change, now=now, notice=notice)
    if state.is_running:
        assert served is Availability.UP
    elif (
        announces in (ChangeType.Upgrade, ChangeType.Suspend, ChangeType.Delete)
        and before.is_running
        and timedelta(seconds=elapsed) < timedelta(seconds=notice)
    ):
        assert served is Availability.NOTICE
    else:
        assert served is Availability.DOWN


def test_with_no_history_a_tenant_that_is_not_running_is_down() -> None:
    for state in DOWN:
        tenant = replace(_tenant("Cust1"), state=state)
        assert availability(tenant, None, now=START, notice=NOTICE) is Availability.DOWN
