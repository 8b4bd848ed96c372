"""The verifiers under many callers: one key fetch for all, per-kid limits, threads."""

from __future__ import annotations

import sys
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import anyio
import jwt
import pytest

from tenantstatus.client import (
    AsyncNotificationVerifier,
    DuplicateDelivery,
    NotificationRejected,
    UnknownSigningKey,
    VerifiedNotification,
)
from tenantstatus.client.keys import DeliveryLog, KeyPlan, SigningKeys
from tests.client.conftest import verifier_for
from tests.client.issuer import AUDIENCE, Issuer
from tests.support.clock import ManualClock as FakeClock


def test_eight_threads_on_a_fresh_verifier_all_verify(issuer: Issuer) -> None:
    issuer.jwks_delay = 0.3  # every thread arrives while the first fetch is under way
    verifier = verifier_for(issuer)
    bodies = [issuer.notification() for _ in range(8)]
    start = threading.Barrier(len(bodies))
    outcomes: list[VerifiedNotification | Exception] = []

    def verify(body: dict[str, Any]) -> None:
        start.wait()
        try:
            outcomes.append(verifier.verify(body))
        except Exception as exc:
            outcomes.append(exc)

    before = issuer.jwks_fetches
    threads = [threading.Thread(target=verify, args=(body,)) for body in bodies]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert [type(o).__name__ for o in outcomes] == ["VerifiedNotification"] * len(bodies)
    assert issuer.jwks_fetches == before + 1, "the threads shared one fetch"


def test_one_delivery_verified_by_eight_threads_at_once_is_accepted_once(issuer: Issuer) -> None:
    verifier = verifier_for(issuer)
    verifier.verify(issuer.notification())  # keys loaded: the threads race on the check

    def race(body: dict[str, Any]) -> list[str]:
        start = threading.Barrier(8)
        outcomes: list[str] = []

        def verify() -> None:
            start.wait()
            try:
                verifier.verify(body)
                outcomes.append("accepted")
            except DuplicateDelivery:
                outcomes.append("duplicate")

        threads = [threading.Thread(target=verify) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        return sorted(outcomes)

    with _switching_often():
        for _ in range(10):
            assert race(issuer.notification()) == ["accepted"] + ["duplicate"] * 7


def test_the_delivery_log_is_safe_under_threads(clock: FakeClock) -> None:
    log = DeliveryLog(clock, max_entries=50)
    now = clock.now().timestamp()
    errors: list[Exception] = []

    def remember(thread: int) -> None:
        try:
            for n in range(20_000):
                # Half of them expired at once, so pruning runs on every call.
                log.remember(f"{thread}-{n}", now - 1 if n % 2 else now + 300)
        except Exception as exc:
            errors.append(exc)

    with _switching_often():
        threads = [threading.Thread(target=remember, args=(n,)) for n in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    assert errors == []
    assert len(log) <= 50


@pytest.mark.anyio
async def test_async_callers_arriving_during_a_slow_fetch_all_verify(issuer: Issuer) -> None:
    issuer.jwks_delay = 0.5
    bodies = [issuer.notification() for _ in range(6)]
    outcomes: list[VerifiedNotification | Exception] = []
    before = issuer.jwks_fetches
    async with AsyncNotificationVerifier.for_service(issuer.url, AUDIENCE) as verifier:

        async def verify(body: dict[str, Any]) -> None:
            try:
                outcomes.append(await verifier.verify(body))
            except Exception as exc:
                outcomes.append(exc)

        async with anyio.create_task_group() as group:
            for body in bodies:
                group.start_soon(verify, body)
                await anyio.sleep(0.06)  # arrivals spread over the fetch, not all at once
    assert [type(o).__name__ for o in outcomes] == ["VerifiedNotification"] * len(bodies)
    assert issuer.jwks_fetches == before + 1, "the callers shared one fetch"


@pytest.mark.anyio
async def test_a_cancelled_fetch_does_not_hold_off_the_next_caller(issuer: Issuer) -> None:
    issuer.jwks_delay = 1.0
    async with AsyncNotificationVerifier.for_service(issuer.url, AUDIENCE) as verifier:
        with anyio.move_on_after(0.2) as scope:
            await verifier.verify(issuer.notification())
        assert scope.cancelled_caught
        issuer.jwks_delay = 0.0
        assert (await verifier.verify(issuer.notification())).key_id == "rsa-1"


def test_a_new_kid_is_fetched_at_once_even_right_after_a_fetch(issuer: Issuer) -> None:
    verifier = verifier_for(issuer)  # the default limits
    verifier.verify(issuer.notification())
    issuer.add_key("rsa-next", "RS256")
    assert verifier.verify(issuer.notification(kid="rsa-next")).key_id == "rsa-next"


def test_unknown_kids_are_rate_limited_per_kid(issuer: Issuer, clock: FakeClock) -> None:
    for kid in ("forged-a", "forged-b"):
        issuer.add_key(kid, "RS256", publish=False)
    verifier = verifier_for(issuer, clock=clock, refetch_interval=timedelta(seconds=30))
    verifier.verify(issuer.notification())

    def fetches_for(kid: str) -> int:
        before = issuer.jwks_fetches
        with pytest.raises(UnknownSigningKey):
            verifier.verify(issuer.notification(kid=kid))
        return issuer.jwks_fetches - before

    clock.advance(2)
    assert fetches_for("forged-a") == 1
    assert fetches_for("forged-a") == 0, "one refetch per kid per refetch_interval"
    clock.advance(1.5)
    assert fetches_for("forged-b") == 1, "another kid is not held off by the first one"
    assert fetches_for("forged-b") == 0
    clock.advance(1.5)
    assert fetches_for("forged-a") == 0, "forged-a still waits out its refetch_interval"
    clock.advance(30)
    assert fetches_for("forged-a") == 1


def test_a_spray_of_forged_kids_fetches_once_per_second(issuer: Issuer, clock: FakeClock) -> None:
    verifier = verifier_for(issuer, clock=clock)
    verifier.verify(issuer.notification())

    def spray(count: int) -> int:
        before = issuer.jwks_fetches
        for _ in range(count):
            with pytest.raises(NotificationRejected):
                verifier.verify(_forged(issuer, f"forged-{uuid.uuid4()}"))
        return issuer.jwks_fetches - before

    clock.advance(2)
    assert spray(50) == 1
    clock.advance(0.5)
    assert spray(50) == 0
    clock.advance(1)
    assert spray(50) == 1


def test_the_table_of_kids_asked_about_is_bounded(clock: FakeClock) -> None:
    keys = SigningKeys("http://127.0.0.1:9/jwks", clock, max_kids=2)

    def fetch_for(kid: str | None) -> None:  # what the verifier's fetch flow records
        keys.attempted(kid)
        keys.load(b'{"keys": []}')
        keys.finished()
        clock.advance(2)

    for kid in (None, "a", "b"):
        fetch_for(kid)
    assert keys.plan("a") is KeyPlan.USE, "a asked recently: no refetch yet"
    fetch_for("c")  # a third kid pushes the oldest out
    assert keys.plan("a") is KeyPlan.FETCH
    assert keys.plan("c") is KeyPlan.USE


def test_a_kid_too_long_to_remember_is_malformed(issuer: Issuer) -> None:
    from tenantstatus.client import MalformedNotification

    with pytest.raises(MalformedNotification, match="longer than"):
        verifier_for(issuer).verify(_forged(issuer, "k" * 300))


@contextmanager
def _switching_often() -> Iterator[None]:
    """Switch threads as often as the interpreter can, so races show."""
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        yield
    finally:
        sys.setswitchinterval(interval)


def _forged(issuer: Issuer, kid: str) -> dict[str, Any]:
    """A notification signed with a genuine key but naming another kid."""
    token = jwt.encode(issuer.claims(), issuer.private["rsa-1"], "RS256", headers={"kid": kid})
    return issuer.notification(token=token)
