"""The pull client when the state API fails: retries, backoff, the stale fallback."""

from __future__ import annotations

import json
from datetime import timedelta

import httpx2 as httpx
import pytest

from tenantstatus.client import (
    AsyncTenantStatusClient,
    CachePolicy,
    RetryPolicy,
    StatusUnavailable,
    TenantStatusClient,
    UnexpectedResponse,
)
from tenantstatus.model import TenantState, format_instant
from tests.support.clock import ManualClock as FakeClock
from tests.support.processes import ServiceProcess

FAST = RetryPolicy(attempts=3, backoff=0.001, max_backoff=0.01)


def _answer(clock: FakeClock, ctx: str = "Cust1", ttl: int = 60) -> bytes:
    document = {
        "ContextIdentifier": ctx,
        "Endpoint": f"https://sod2.example.com/{ctx}",
        "State": "Running",
        "IsRunning": True,
        "ValidUntil": format_instant(clock.now() + timedelta(seconds=ttl)),
        "Api": f"https://sod2.example.com/{ctx}/api",
    }
    return json.dumps(document).encode()


class Script:
    """Answers a MockTransport request with the next scripted response (or exception)."""

    def __init__(self, *steps: httpx.Response | Exception) -> None:
        self.steps = list(steps)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        step = self.steps.pop(0)
        if isinstance(step, Exception):
            raise step
        return step


def test_5xx_is_retried_with_backoff_until_an_answer_comes(clock: FakeClock) -> None:
    script = Script(
        httpx.Response(503), httpx.Response(502), httpx.Response(200, content=_answer(clock))
    )
    transport = httpx.MockTransport(script)
    with TenantStatusClient(
        "https://status.test", transport=transport, clock=clock, retry_policy=FAST
    ) as client:
        assert client.is_running("Cust1")
    assert len(script.requests) == 3


def test_connection_errors_and_timeouts_are_retried(clock: FakeClock) -> None:
    script = Script(
        httpx.ConnectError("refused"),
        httpx.ReadTimeout("slow"),
        httpx.Response(200, content=_answer(clock)),
    )
    with TenantStatusClient(
        "https://status.test",
        transport=httpx.MockTransport(script),
        clock=clock,
        retry_policy=FAST,
    ) as client:
        assert client.get_state("Cust1").state is TenantState.Running
    assert len(script.requests) == 3


def test_giving_up_raises_status_unavailable_naming_the_tenant(clock: FakeClock) -> None:
    script = Script(*(httpx.Response(500) for _ in range(3)))
    with (
        TenantStatusClient(
            "https://status.test",
            transport=httpx.MockTransport(script),
            clock=clock,
            retry_policy=FAST,
        ) as client,
        pytest.raises(StatusUnavailable) as caught,
    ):
        client.get_state("Cust1")
    assert caught.value.context_identifier == "Cust1"
    assert caught.value.url == "https://status.test/api/state/Cust1"
    assert len(script.requests) == 3


def test_a_long_retry_after_ends_the_retries_and_is_passed_on(clock: FakeClock) -> None:
    script = Script(httpx.Response(503, headers={"Retry-After": "120"}))
    with (
        TenantStatusClient(
            "https://status.test",
            transport=httpx.MockTransport(script),
            clock=clock,
            retry_policy=FAST,
        ) as client,
        pytest.raises(StatusUnavailable) as caught,
    ):
        client.get_state("Cust1")
    assert caught.value.retry_after == 120
    assert len(script.requests) == 1


def test_a_4xx_is_not_retried_and_raises_unexpected_response(clock: FakeClock) -> None:
    script = Script(httpx.Response(400, json={"title": "Invalid ContextIdentifier"}))
    with (
        TenantStatusClient(
            "https://status.test",
            transport=httpx.MockTransport(script),
            clock=clock,
            retry_policy=FAST,
        ) as client,
        pytest.raises(UnexpectedResponse) as caught,
    ):
        client.get_state("Cust1")
    assert caught.value.status_code == 400
    assert len(script.requests) == 1


def test_a_body_outside_the_contract_raises_unexpected_response(clock: FakeClock) -> None:
    script = Script(httpx.Response(200, content=b'{"State": "Running"}'))
    with (
        TenantStatusClient(
            "https://status.test", transport=httpx.MockTransport(script), clock=clock
        ) as client,
        pytest.raises(UnexpectedResponse, match="not a state document"),
    ):
        client.get_state("Cust1")


def test_an_answer_for_another_tenant_is_refused(clock: FakeClock) -> None:
    script = Script(httpx.Response(200, content=_answer(clock, ctx="Cust2")))
    with (
        TenantStatusClient(
            "https://status.test", transport=httpx.MockTransport(script), clock=clock
        ) as client,
        pytest.raises(UnexpectedResponse, match="answered for Cust2"),
    ):
        client.get_state("Cust1")


def test_a_malformed_context_identifier_sends_nothing(clock: FakeClock) -> None:
    script = Script()
    with (
        TenantStatusClient(
            "https://status.test", transport=httpx.MockTransport(script), clock=clock
        ) as client,
        pytest.raises(ValueError, match="not a ContextIdentifier"),
    ):
        client.get_state("../admin/tenants")
    assert script.requests == []


def test_unreachable_service_serves_the_last_answer_marked_stale_for_a_bounded_time(
    fresh_service: ServiceProcess, clock: FakeClock
) -> None:
    service = fresh_service.start()
    with service.admin() as admin:
        body = {
            "ContextIdentifier": "CustStale",
            "Endpoint": "https://sod2.example.com/CustStale",
            "State": "Running",
        }
        assert admin.post("/admin/tenants", json=body).status_code == 201
    policy = CachePolicy(max_stale=timedelta(minutes=10), failure_hold=timedelta(seconds=5))
    with TenantStatusClient(
        service.url, clock=clock, cache_policy=policy, retry_policy=FAST
    ) as client:
        assert client.get_state("CustStale").stale is False
        service.stop()
        clock.advance(61)
        stale = client.get_state("CustStale")
        assert stale.stale is True
        assert stale.is_running is True
        assert stale.fetched_at is not None and stale.fetched_at < clock.now()
        clock.advance(600)  # past freshness + max_stale
        with pytest.raises(StatusUnavailable):
            client.get_state("CustStale")


def test_stale_answer_is_held_briefly_so_a_dead_service_is_not_asked_on_every_call(
    clock: FakeClock,
) -> None:
    script = Script(
        httpx.Response(200, content=_answer(clock)),
        *(httpx.ConnectError("refused") for _ in range(3)),
    )
    policy = CachePolicy(failure_hold=timedelta(seconds=5))
    with TenantStatusClient(
        "https://status.test",
        transport=httpx.MockTransport(script),
        clock=clock,
        cache_policy=policy,
        retry_policy=FAST,
    ) as client:
        client.get_state("Cust1")
        clock.advance(61)
        assert client.get_state("Cust1").stale
        assert client.get_state("Cust1").stale
    assert len(script.requests) == 1 + 3


@pytest.mark.anyio
async def test_async_client_retries_and_falls_back_like_the_sync_one(clock: FakeClock) -> None:
    steps = [httpx.Response(200, content=_answer(clock)), *(httpx.Response(503) for _ in range(3))]
    requests: list[httpx.Request] = []

    async def answer(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        return steps.pop(0)

    async with AsyncTenantStatusClient(
        "https://status.test",
        transport=httpx.MockTransport(answer),
        clock=clock,
        retry_policy=FAST,
    ) as client:
        assert not (await client.get_state("Cust1")).stale
        clock.advance(61)
        assert (await client.get_state("Cust1")).stale
    assert len(requests) == 4
    assert requests[1].headers.get("if-none-match") is None  # MockTransport sent no ETag
