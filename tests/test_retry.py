from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tenantstatus.retry import DEFAULT_SCHEDULE, RetrySchedule, parse_retry_after

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def test_the_default_schedule_retries_for_more_than_a_day() -> None:
    schedule = RetrySchedule()
    assert schedule.attempts == 8
    assert sum(DEFAULT_SCHEDULE) > 24 * 3600


@given(
    st.lists(st.floats(min_value=0, max_value=1e6), min_size=1, max_size=12),
    st.integers(min_value=0, max_value=20),
    st.integers(min_value=0, max_value=2**32),
)
def test_next_attempt_follows_the_schedule_within_jitter_then_gives_up(
    delays: list[float], made: int, seed: int
) -> None:
    schedule = RetrySchedule(tuple(delays))
    when = schedule.next_attempt(made, NOW, rng=random.Random(seed))
    if made >= len(delays):
        assert when is None
        return
    assert when is not None
    delay = delays[made]
    spread = 0.1 * delay if delay >= 60 else 0.0
    assert delay - spread - 1e-3 <= (when - NOW).total_seconds() <= delay + spread + 1e-3


def test_retry_after_overrides_the_schedule_but_is_bounded() -> None:
    schedule = RetrySchedule((0, 300))
    assert schedule.next_attempt(1, NOW, retry_after=timedelta(seconds=7)) == NOW + timedelta(
        seconds=7
    )
    capped = schedule.next_attempt(1, NOW, retry_after=timedelta(days=9))
    assert capped == NOW + timedelta(hours=24)
    assert schedule.next_attempt(2, NOW, retry_after=timedelta(seconds=7)) is None


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("120", timedelta(seconds=120)),
        ("Wed, 25 Nov 2026 12:01:00 GMT", timedelta(minutes=1)),
        ("Wed, 25 Nov 2026 11:00:00 GMT", timedelta(0)),
        ("soon", None),
        ("", None),
        (None, None),
    ],
)
def test_retry_after_header_forms(header: str | None, expected: timedelta | None) -> None:
    assert parse_retry_after(header, NOW) == expected


@pytest.mark.parametrize("text", ["", "a,b", "5,-1", ",,"])
def test_bad_schedules_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        RetrySchedule.parse(text)


def test_schedules_parse_from_the_environment_format() -> None:
    assert RetrySchedule.parse("0, 5,300").delays == (0.0, 5.0, 300.0)
