"""The pull client against a real `tenantstatus serve` on loopback."""

from __future__ import annotations

import threading
import time

import anyio
import httpx2 as httpx
import pytest

from tenantstatus.client import (
    AsyncTenantStatusClient,
    CachePolicy,
    TenantNotRunning,
    TenantStatusClient,
)
from tenantstatus.model import TenantState
from tests.client.conftest import AsyncRecordingTransport, Operator, RecordingTransport
from tests.client.installation import Installations
from tests.support.clock import ManualClock as FakeClock
from tests.support.processes import ServiceProcess


def test_get_state_reads_the_answer_of_the_service(
    service: ServiceProcess, operator: Operator, installations: Installations
) -> None:
    ctx = operator.add("Running", shard="sod2")
    with TenantStatusClient(service.url) as client:
        status = client.get_state(ctx)
        assert status.state is TenantState.Running
        assert client.is_running(ctx) is True
        assert client.endpoint(ctx) == installations.endpoint(ctx, "sod2")
        assert status.stale is False


def test_fresh_answer_is_served_from_the_cache_without_a_request(
    service: ServiceProcess, operator: Operator, clock: FakeClock
) -> None:
    ctx = operator.add()
    transport = RecordingTransport()
    with TenantStatusClient(service.url, transport=transport, clock=clock) as client:
        first = client.get_state(ctx)
        clock.advance(30)
        assert client.get_state(ctx) is first
    assert len(transport.seen) == 1


def test_expired_answer_is_revalidated_with_its_etag(
    service: ServiceProcess, operator: Operator, clock: FakeClock
) -> None:
    ctx = operator.add()
    transport = RecordingTransport()
    with TenantStatusClient(service.url, transport=transport, clock=clock) as client:
        first = client.get_state(ctx)
        clock.advance(61)  # the test service's TTL is 60 s
        second = client.get_state(ctx)
    assert [code for _, code in transport.seen] == [200, 304]
    assert second.state_name == first.state_name
    assert second.fetched_at == clock.now()
    assert second.valid_until > first.fetched_at  # type: ignore[operator]


def test_state_change_is_seen_once_the_answer_expires(
    service: ServiceProcess, operator: Operator, clock: FakeClock
) -> None:
    ctx = operator.add()
    with TenantStatusClient(service.url, clock=clock) as client:
        assert client.is_running(ctx)
        operator.operate(ctx, "suspend")
        assert client.is_running(ctx), "still fresh: the cache holds until ValidUntil"
        clock.advance(61)
        assert client.get_state(ctx).state is TenantState.Suspended


def test_a_local_clock_ahead_of_the_service_still_caches_for_the_whole_ttl(
    service: ServiceProcess, operator: Operator, clock: FakeClock
) -> None:
    ctx = operator.add()
    clock.advance(600)  # ten minutes ahead of the service: ValidUntil is "past" locally
    transport = RecordingTransport()
    with TenantStatusClient(service.url, transport=transport, clock=clock) as client:
        client.get_state(ctx)
        clock.advance(50)
        client.get_state(ctx)
    assert len(transport.seen) == 1


def test_refresh_asks_the_service_even_while_fresh(
    service: ServiceProcess, operator: Operator
) -> None:
    ctx = operator.add()
    with TenantStatusClient(service.url) as client:
        assert client.is_running(ctx)
        operator.operate(ctx, "suspend")
        assert client.refresh(ctx).state is TenantState.Suspended


def test_unknown_tenant_is_not_running(service: ServiceProcess) -> None:
    with TenantStatusClient(service.url) as client:
        status = client.get_state("CustNeverSeen")
    assert status.state is TenantState.Unknown
    assert status.is_running is False


def test_cache_is_bounded_and_evicts_the_least_recently_used(
    service: ServiceProcess, operator: Operator
) -> None:
    first, second, third = operator.add(), operator.add(), operator.add()
    policy = CachePolicy(max_entries=2)
    with TenantStatusClient(service.url, cache_policy=policy) as client:
        client.get_state(first)
        client.get_state(second)
        client.get_state(first)  # first is now the most recently used
        client.get_state(third)
        assert len(client.cache) == 2
        assert first in client.cache
        assert second not in client.cache


def test_api_version_fetches_the_document_from_the_answers_api_url(
    service: ServiceProcess, operator: Operator, installations: Installations
) -> None:
    ctx = operator.add(label="Release_11.10")
    with TenantStatusClient(service.url) as client:
        version = client.api_version(ctx)
        again = client.api_version(ctx)
    assert version.net_server_label == "Release_11.10"
    assert version.v1 == installations.endpoint(ctx, "sod2") + "/api/v1/"
    assert again is version
    assert len([c for c in installations.calls_for(ctx) if c.path == "api"]) == 1


def test_api_version_follows_an_upgrade(
    service: ServiceProcess, operator: Operator, installations: Installations, clock: FakeClock
) -> None:
    ctx = operator.add(label="Release_1")
    with TenantStatusClient(service.url, clock=clock) as client:
        assert client.api_version(ctx).net_server_label == "Release_1"
        document = {**installations.documents[ctx], "NetServerLabel": "Release_2"}
        operator.operate(
            ctx, "upgrade", VersionName="R2", FileVersion="2.0", VersionDocument=document
        )
        installations.documents[ctx] = document
        operator.operate(ctx, "upgrade-done")
        clock.advance(61)
        assert client.get_state(ctx).version == "Release_2"
        assert client.api_version(ctx).net_server_label == "Release_2"


def test_api_version_of_an_unknown_tenant_says_it_is_not_running(
    service: ServiceProcess,
) -> None:
    with TenantStatusClient(service.url) as client, pytest.raises(TenantNotRunning) as caught:
        client.api_version("CustNobody")
    assert caught.value.state is TenantState.Unknown


@pytest.mark.anyio
async def test_async_client_reads_the_service(
    service: ServiceProcess, operator: Operator, installations: Installations
) -> None:
    ctx = operator.add(shard="sod7", label="Release_A")
    async with AsyncTenantStatusClient(service.url) as client:
        assert await client.is_running(ctx)
        assert await client.endpoint(ctx) == installations.endpoint(ctx, "sod7")
        assert (await client.api_version(ctx)).net_server_label == "Release_A"


@pytest.mark.anyio
async def test_concurrent_callers_for_one_tenant_share_one_request(
    service: ServiceProcess, operator: Operator
) -> None:
    ctx = operator.add()
    transport = AsyncRecordingTransport()
    results = []

    async with AsyncTenantStatusClient(service.url, transport=transport) as client:

        async def ask() -> None:
            results.append(await client.get_state(ctx))

        async with anyio.create_task_group() as tasks:
            for _ in range(1000):
                tasks.start_soon(ask)
    assert len(transport.seen) == 1
    assert len(results) == 1000
    assert all(result is results[0] for result in results)


def test_threads_asking_for_one_tenant_share_one_request(
    service: ServiceProcess, operator: Operator
) -> None:
    ctx = operator.add()
    slow = SlowTransport(delay=0.2)
    results: list[object] = []
    with TenantStatusClient(service.url, transport=slow) as client:
        threads = [
            threading.Thread(target=lambda: results.append(client.get_state(ctx)))
            for _ in range(20)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert len(slow.seen) == 1
    assert len(results) == 20
    assert all(result is results[0] for result in results)


class SlowTransport(RecordingTransport):
    """A real transport that takes its time, so that callers pile up behind the first."""

    def __init__(self, delay: float) -> None:
        super().__init__()
        self.delay = delay

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        time.sleep(self.delay)
        return super().handle_request(request)
