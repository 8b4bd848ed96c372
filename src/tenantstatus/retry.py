"""When to try a failed delivery again, and when to give up."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

__all__ = ["DEFAULT_SCHEDULE", "RetrySchedule", "parse_retry_after"]

# Immediately, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h: 27.6 hours in all.
DEFAULT_SCHEDULE = (0.0, 5.0, 300.0, 1800.0, 7200.0, 18000.0, 36000.0, 36000.0)
_MAX_RETRY_AFTER = timedelta(hours=24)
_JITTER = 0.1
_JITTER_FROM = 60.0


@dataclass(frozen=True, slots=True)
class RetrySchedule:
    """Delays before each attempt; the first is the delay before the first attempt.

    Delays of a minute or more get ±10 % jitter, so a receiver that was down does not
    get every retry in the same second.
    """

    delays: Sequence[float] = DEFAULT_SCHEDULE

    @classmethod
    def parse(cls, text: str) -> RetrySchedule:
        """Read a comma-separated list of seconds, e.g. `0,5,300`."""
        try:
            delays = tuple(float(part) for part in text.split(",") if part.strip())
        except ValueError:
            raise ValueError(
                f"retry schedule must be comma-separated seconds, got {text!r}"
            ) from None
        if not delays or any(d < 0 for d in delays):
            raise ValueError("retry schedule needs at least one delay, none negative")
        return cls(delays)

    def __str__(self) -> str:
        """The schedule as `parse` reads it back."""
        return ",".join(f"{delay:g}" for delay in self.delays)

    @property
    def attempts(self) -> int:
        """How many attempts a delivery gets before it is dead."""
        return len(self.delays)

    def next_attempt(
        self,
        attempts_made: int,
        now: datetime,
        *,
        retry_after: timedelta | None = None,
        rng: random.Random | None = None,
    ) -> datetime | None:
        """When to try again after `attempts_made` failed attempts; None means give up."""
        if attempts_made >= len(self.delays):
            return None
        if retry_after is not None:
            return now + min(max(retry_after, timedelta(0)), _MAX_RETRY_AFTER)
        delay = self.delays[attempts_made]
        if delay >= _JITTER_FROM:
            delay *= 1 + (rng or random).uniform(-_JITTER, _JITTER)
        return now + timedelta(seconds=delay)


def parse_retry_after(value: str | None, now: datetime) -> timedelta | None:
    """A `Retry-After` header (seconds or an HTTP date) as a delay, or None."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return timedelta(seconds=int(value))
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(when - now, timedelta(0))
