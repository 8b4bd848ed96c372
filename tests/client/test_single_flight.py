"""The single-flight table: one leader per tenant, waiters woken with its outcome."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest

from tenantstatus.client.cache import PulledStatus
from tenantstatus.client.single_flight import SingleFlight

NOW = datetime(2026, 12, 1, tzinfo=UTC)


def pulled(ctx: str) -> PulledStatus:
    return PulledStatus(
        context_identifier=ctx,
        endpoint=f"https://h/{ctx}",
        state_name="Running",
        is_running=True,
        valid_until=NOW,
        api=f"https://h/{ctx}/api",
        fetched_at=NOW,
    )


def test_the_first_caller_leads_and_the_others_share_its_answer() -> None:
    flights = SingleFlight(threading.Event)
    first, lead = flights.join("Cust1")
    second, follows = flights.join("Cust1")
    other, leads_other = flights.join("Cust2")
    assert (lead, follows, leads_other) == (True, False, True)
    assert second is first and other is not first
    answer = pulled("Cust1")
    flights.land("Cust1", first, answer, None)
    assert second.done.is_set() and second.outcome() is answer
    again, leads_again = flights.join("Cust1")
    assert leads_again and again is not first


def test_waiters_get_the_leaders_error() -> None:
    flights = SingleFlight(threading.Event)
    flight, _ = flights.join("Cust1")
    flights.land("Cust1", flight, None, RuntimeError("unreachable"))
    with pytest.raises(RuntimeError, match="unreachable"):
        flight.outcome()


def test_a_leader_stopped_without_an_outcome_leaves_none_so_waiters_lead_anew() -> None:
    flights = SingleFlight(threading.Event)
    flight, _ = flights.join("Cust1")
    flights.land("Cust1", flight, None, None)
    assert flight.done.is_set() and flight.outcome() is None
    assert flights.join("Cust1")[1] is True
