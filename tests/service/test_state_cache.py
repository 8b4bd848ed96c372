from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from tenantstatus.lifecycle import Tenant
from tenantstatus.model import TenantState
from tenantstatus.service.state.cache import StateCache

NOW = datetime(2026, 11, 25, tzinfo=UTC)


@given(st.lists(st.tuples(st.integers(0, 20), st.sampled_from(list(TenantState))), max_size=200))
def test_counts_by_state_match_a_recount_after_any_sequence_of_puts(
    puts: list[tuple[int, TenantState]],
) -> None:
    cache = StateCache()
    for n, state in puts:
        cache.put(Tenant(f"Cust{n}", "https://h/x", state, NOW, NOW))
    latest = {n: state for n, state in puts}
    expected: dict[TenantState, int] = {}
    for state in latest.values():
        expected[state] = expected.get(state, 0) + 1
    assert cache.counts_by_state() == expected
    assert len(cache) == len(latest)


def test_loaded_summaries_are_counted_too() -> None:
    cache = StateCache()
    cache.load_summaries([("A1", "https://h/a", 2, "{}"), ("A2", "https://h/b", 4, "{}")])
    cache.load_summaries([("A2", "https://h/b", 2, '{"NetServerLabel":"R1"}')])
    assert cache.counts_by_state() == {TenantState.Running: 2}
    answer = cache.get("A2")
    assert answer is not None and b'"Version":"R1"' in answer.tail
