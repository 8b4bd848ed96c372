"""The dispatcher against a real SQLite store, behind httpx2's MockTransport seam."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from pathlib import Path

import httpx2 as httpx
import pytest
from cryptography.fernet import Fernet

from tenantstatus.clock import Clock, SystemClock
from tenantstatus.delivery import Dispatcher, DispatcherSettings, RetrySchedule
from tenantstatus.delivery.recipients import RecipientDirectory
from tenantstatus.lifecycle import Operation
from tenantstatus.store import SqlStore
from tenantstatus.store.push_records import Application, Delivery, DeliveryStatus
from tenantstatus.store.secret_box import SecretBox
from tenantstatus.tokens import SigningKey, SigningKeyRing
from tests.store.test_contract import NOW, provision, run
from tests.support.clock import ManualClock

pytestmark = pytest.mark.anyio

Handler = Callable[[httpx.Request], httpx.Response]


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqlStore]:
    backend = SqlStore(f"sqlite+aiosqlite:///{tmp_path / 'store.db'}")
    await backend.open()
    yield backend
    await backend.close()


async def one_delivery(store: SqlStore, box: SecretBox) -> None:
    await store.add_application(
        Application(
            id="app_0000000000000001",
            name="a",
            url="https://a.example.com/hook",
            token_hash="x" * 64,
            secret=box.seal("whsec_" + "A" * 32),
            created_at=NOW,
        )
    )
    await provision(store, "Cust1")
    await store.approve("app_0000000000000001", "Cust1", NOW)
    await run(store, "Cust1", Operation.SUSPEND)


async def dispatch(
    store: SqlStore,
    handler: Handler,
    *,
    clock: Clock | None = None,
    settings: DispatcherSettings | None = None,
) -> Delivery:
    """Run a dispatcher until the one delivery has an attempt; that delivery."""
    box = SecretBox(Fernet.generate_key())
    await one_delivery(store, box)
    ring = SigningKeyRing([SigningKey.generate("ES256")])
    attempted = asyncio.Event()
    dispatcher = Dispatcher(
        store,
        RecipientDirectory(store, box),
        lambda: ring,
        httpx.MockTransport(handler),
        clock or SystemClock(),
        issuer="https://status.example.com",
        settings=settings or DispatcherSettings(schedule=RetrySchedule.parse("0,60")),
        observe=lambda outcome, latency: attempted.set(),
    )
    dispatcher.start()
    try:
        async with asyncio.timeout(10):
            await attempted.wait()
    finally:
        await dispatcher.stop()  # writes the outcome
    (delivery,) = await store.list_deliveries()
    return delivery


async def test_a_2xx_answer_delivers(store: SqlStore) -> None:
    seen: list[httpx.Request] = []

    def accept(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(204)

    delivery = await dispatch(store, accept)
    assert delivery.status is DeliveryStatus.DELIVERED
    assert seen[0].url == "https://a.example.com/hook"
    assert seen[0].headers["webhook-id"] == delivery.id


async def test_an_unexpected_error_is_a_failed_attempt_not_a_stranded_delivery(
    store: SqlStore,
) -> None:
    def broken(request: httpx.Request) -> httpx.Response:
        raise RuntimeError("a bug in a transport")

    delivery = await dispatch(store, broken)
    assert delivery.status is DeliveryStatus.PENDING
    assert delivery.attempts == 1
    assert delivery.last_error is not None
    assert "internal error (RuntimeError)" in delivery.last_error
    assert delivery.next_attempt_at is not None and delivery.next_attempt_at > NOW


# The numbers: a 15 s timeout and a 5 s step, which used to count from the start.
SHORT_STEP = DispatcherSettings(timeout=15.0, schedule=RetrySchedule.parse("0,5"))


async def test_a_retry_waits_its_step_after_the_attempt_timed_out(store: SqlStore) -> None:
    clock = ManualClock(NOW)

    def hang_past_the_timeout(request: httpx.Request) -> httpx.Response:
        clock.advance(15)
        raise httpx.ReadTimeout("no data within 15 s", request=request)

    delivery = await dispatch(store, hang_past_the_timeout, clock=clock, settings=SHORT_STEP)
    ended = clock.now()
    assert delivery.status is DeliveryStatus.PENDING
    assert delivery.last_error == "no answer within 15 s"
    assert delivery.next_attempt_at == ended + timedelta(seconds=5)


async def test_retry_after_counts_from_when_the_answer_came(store: SqlStore) -> None:
    clock = ManualClock(NOW)

    def slow_then_busy(request: httpx.Request) -> httpx.Response:
        clock.advance(12)
        return httpx.Response(503, headers={"Retry-After": "30"})

    delivery = await dispatch(store, slow_then_busy, clock=clock, settings=SHORT_STEP)
    assert delivery.last_error == "HTTP 503"
    assert delivery.next_attempt_at == clock.now() + timedelta(seconds=30)
