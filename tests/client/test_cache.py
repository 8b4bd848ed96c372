"""The sans-I/O cache core: freshness rules as properties, with no network at all."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

from hypothesis import given
from hypothesis import strategies as st

from tenantstatus.client import CachePolicy, RetryPolicy, StatusCache
from tenantstatus.model import format_instant
from tests.support.clock import ManualClock as FakeClock

SERVER_NOW = datetime(2026, 2, 23, 9, 52, 1, tzinfo=UTC)


def _body(ctx: str, valid_until: datetime) -> bytes:
    return json.dumps(
        {
            "ContextIdentifier": ctx,
            "Endpoint": f"https://online2.superoffice.com/{ctx}",
            "State": "Running",
            "IsRunning": True,
            "ValidUntil": format_instant(valid_until),
            "Api": f"https://online2.superoffice.com/{ctx}/api",
        }
    ).encode()


def _cache(clock: FakeClock, max_entries: int = 10_000) -> StatusCache:
    policy = CachePolicy(max_entries=max_entries)
    return StatusCache("https://online.superoffice.com", policy, clock)


@given(
    skew=st.integers(min_value=-7200, max_value=7200),
    ttl=st.integers(min_value=2, max_value=3600),
)
def test_an_answer_stays_fresh_for_its_ttl_whatever_the_local_clock_says(
    skew: int, ttl: int
) -> None:
    clock = FakeClock(SERVER_NOW + timedelta(seconds=skew))
    cache = _cache(clock)
    headers = {"date": format_datetime(SERVER_NOW, usegmt=True)}
    request = cache.request("Cust1")
    cache.accept(request, 200, headers, _body("Cust1", SERVER_NOW + timedelta(seconds=ttl)))
    clock.advance(ttl - 1.01)
    assert cache.fresh("Cust1") is not None
    clock.advance(1.02)
    assert cache.fresh("Cust1") is None


@given(ttl=st.integers(min_value=1, max_value=3600), max_age=st.integers(0, 3600))
def test_max_age_caps_the_freshness_of_an_answer(ttl: int, max_age: int) -> None:
    clock = FakeClock(SERVER_NOW)
    cache = _cache(clock)
    headers = {"cache-control": f"public, max-age={max_age}"}
    cache.accept(
        cache.request("Cust1"), 200, headers, _body("Cust1", SERVER_NOW + timedelta(seconds=ttl))
    )
    clock.advance(min(ttl, max_age))
    assert cache.fresh("Cust1") is None


def test_a_304_keeps_the_answer_and_restamps_its_valid_until() -> None:
    clock = FakeClock(SERVER_NOW)
    cache = _cache(clock)
    headers = {"etag": 'W/"abc"', "cache-control": "max-age=60"}
    first = cache.accept(
        cache.request("Cust1"), 200, headers, _body("Cust1", SERVER_NOW + timedelta(seconds=60))
    )
    clock.advance(61)
    request = cache.request("Cust1")
    assert request.headers["If-None-Match"] == 'W/"abc"'
    cache.forget("Cust1")  # evicted while the request was under way
    second = cache.accept(request, 304, {"cache-control": "max-age=60"}, b"")
    assert second.endpoint == first.endpoint
    assert second.valid_until == clock.now() + timedelta(seconds=60)
    assert cache.fresh("Cust1") is second


@given(st.lists(st.integers(min_value=0, max_value=50), max_size=200))
def test_the_cache_never_holds_more_than_its_bound(tenants: list[int]) -> None:
    clock = FakeClock(SERVER_NOW)
    cache = _cache(clock, max_entries=8)
    for number in tenants:
        ctx = f"Cust{number}"
        body = _body(ctx, SERVER_NOW + timedelta(seconds=60))
        cache.accept(cache.request(ctx), 200, {}, body)
        assert len(cache) <= 8
        assert ctx in cache


@given(
    attempts=st.integers(min_value=1, max_value=10),
    backoff=st.floats(min_value=0.001, max_value=2.0),
    max_backoff=st.floats(min_value=0.001, max_value=30.0),
)
def test_retry_delays_grow_but_stay_within_the_cap(
    attempts: int, backoff: float, max_backoff: float
) -> None:
    policy = RetryPolicy(attempts=attempts, backoff=backoff, max_backoff=max_backoff)
    delays = list(policy.delays())
    assert len(delays) == attempts - 1
    for number, delay in enumerate(delays):
        floor = min(max_backoff, backoff * 2**number)
        assert floor <= delay <= floor * (1 + policy.jitter)
