"""Uptime from a tenant's history: pure arithmetic over state intervals, no I/O.

A tenant's history is a list of transitions (instant, new state). Between two
transitions the tenant is in the earlier one's state; after the last one it stays
in that state until `now`. Before its first transition the tenant did not exist,
and that time counts for nothing: a tenant created mid-window (or mid-day) is judged
on the time it existed. Days are the reader's calendar days in `zone`, so a day can
last 23 or 25 hours across a daylight-saving change; instants are UTC throughout.

    >>> report = compute_uptime(transitions, now=now, zone=ZoneInfo("Europe/Oslo"))
    >>> report.days[-1].running_share      # today, so far
    1.0

Announced maintenance is the time from an announced transition (scheduled ahead, or
carrying a message) into a maintenance state until the next transition. The quotable
share leaves it out of both sides: running outside it over the time outside it, as
SLAs that exclude announced maintenance count.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from functools import lru_cache
from types import MappingProxyType

from tenantstatus.model import TenantState
from tenantstatus.service.status.states import worst

__all__ = [
    "DayUptime",
    "Transition",
    "Uptime",
    "compute_uptime",
    "day_boundaries",
    "extend_to_now",
]

_ZERO = timedelta(0)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_NO_TIME: Mapping[TenantState, timedelta] = MappingProxyType({})
_MAINTENANCE = frozenset({TenantState.OfflineMaintenance, TenantState.OnlineMaintenance})


@dataclass(frozen=True, slots=True)
class Transition:
    """The tenant entered `state` at `at` (an aware instant); `announced` if the operation
    was scheduled ahead or carried a message."""

    at: datetime
    state: TenantState
    announced: bool = False

    @property
    def opens_announced_maintenance(self) -> bool:
        """An announced move into a maintenance state."""
        return self.announced and self.state in _MAINTENANCE


@dataclass(frozen=True, slots=True)
class DayUptime:
    """One calendar day of the reader's zone: how long the tenant spent in each state."""

    day: date
    start: datetime
    end: datetime
    time_in: Mapping[TenantState, timedelta]
    # The part of `time_in` spent in announced maintenance.
    announced: Mapping[TenantState, timedelta] = field(default_factory=lambda: _NO_TIME)
    # Sums of the two mappings, taken once: a page reads them for every day of the bar.
    observed: timedelta = field(init=False, compare=False)
    """The part of the day during which the tenant existed, up to now."""
    running: timedelta = field(init=False, compare=False)
    """The part of the day during which the tenant's API was usable."""
    announced_maintenance: timedelta = field(init=False, compare=False)
    """The part of the day spent in announced maintenance."""
    announced_running: timedelta = field(init=False, compare=False)
    """The part of the announced maintenance during which the API was usable."""

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "observed", sum(self.time_in.values(), _ZERO))
        set_(self, "running", sum((d for s, d in self.time_in.items() if s.is_running), _ZERO))
        set_(self, "announced_maintenance", sum(self.announced.values(), _ZERO))
        set_(
            self,
            "announced_running",
            sum((d for s, d in self.announced.items() if s.is_running), _ZERO),
        )

    @property
    def running_share(self) -> float | None:
        """running / observed, or None when the tenant did not exist that day."""
        observed = self.observed
        return None if not observed else self.running / observed

    @property
    def worst(self) -> TenantState | None:
        """The most severe state the tenant was in that day, or None."""
        return worst(frozenset(s for s, d in self.time_in.items() if d > _ZERO))


@dataclass(frozen=True, slots=True)
class Uptime:
    """Uptime over a window of whole days, the last of which is today."""

    days: tuple[DayUptime, ...]
    observed: timedelta = field(init=False, compare=False)
    """How long the tenant existed within the window, up to now."""
    running: timedelta = field(init=False, compare=False)
    """How long its API was usable within the window."""
    _outside: timedelta = field(init=False, compare=False, repr=False)
    _running_outside: timedelta = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        days, set_ = self.days, object.__setattr__
        set_(self, "observed", sum((d.observed for d in days), _ZERO))
        set_(self, "running", sum((d.running for d in days), _ZERO))
        set_(self, "_outside", self.observed - sum((d.announced_maintenance for d in days), _ZERO))
        set_(
            self,
            "_running_outside",
            self.running - sum((d.announced_running for d in days), _ZERO),
        )

    @property
    def running_share(self) -> float | None:
        """running / observed over the whole window, or None when it never existed."""
        observed = self.observed
        return None if not observed else self.running / observed

    @property
    def quotable_share(self) -> float | None:
        """The running share outside announced maintenance, or None when there was no
        time outside it."""
        outside = self._outside
        return None if not outside else self._running_outside / outside


def _local_midnight(day: date, zone: tzinfo) -> datetime:
    # A midnight skipped by a DST change resolves to the instant of the change, and a
    # repeated one to its first occurrence: either way days stay contiguous.
    return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)


def day_boundaries(last_day: date, days: int, zone: tzinfo) -> tuple[datetime, ...]:
    """The UTC instants at which each of `days` days ending with `last_day` begins in
    `zone`, followed by the instant the last one ends (`days + 1` instants)."""
    return _day_boundaries(last_day, days, zone)


# Every page view asks for the same 91 instants of its reader's zone; working them out
# is a tenth of the page.
@lru_cache(maxsize=256)
def _day_boundaries(last_day: date, days: int, zone: tzinfo) -> tuple[datetime, ...]:
    first = last_day - timedelta(days=days - 1)
    return tuple(_local_midnight(first + timedelta(days=i), zone) for i in range(days + 1))


def _micros(instant: datetime) -> int:
    return (instant - _EPOCH) // _MICROSECOND


def compute_uptime(
    transitions: Sequence[Transition], *, now: datetime, zone: tzinfo, days: int = 90
) -> Uptime:
    """Time in each state per day, for the `days` days of `zone` ending today.

    `transitions` must be in the order they happened (ties keep their order; the later
    one wins). It may start before the window: only the last transition before the
    window start matters for it. Transitions after `now` are ignored.
    """
    if days < 1:
        raise ValueError("days must be at least 1")
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    today = now.astimezone(zone).date()
    bounds = day_boundaries(today, days, zone)
    edges = [_micros(b) for b in bounds]
    window_start, stop = edges[0], _micros(now)
    totals: list[dict[TenantState, int]] = [{} for _ in range(days)]
    excluded: list[dict[TenantState, int]] = [{} for _ in range(days)]
    count = len(transitions)
    for index, transition in enumerate(transitions):
        begin = max(_micros(transition.at), window_start)
        end = stop if index + 1 == count else min(_micros(transitions[index + 1].at), stop)
        if end <= begin:
            continue
        state = transition.state
        announced = transition.opens_announced_maintenance
        day = bisect_right(edges, begin) - 1
        while begin < end:
            piece_end = min(edges[day + 1], end)
            bucket = totals[day]
            bucket[state] = bucket.get(state, 0) + (piece_end - begin)
            if announced:
                kept = excluded[day]
                kept[state] = kept.get(state, 0) + (piece_end - begin)
            begin = piece_end
            day += 1
    return Uptime(
        tuple(
            DayUptime(
                day=today - timedelta(days=days - 1 - i),
                start=bounds[i],
                end=bounds[i + 1],
                time_in=MappingProxyType(
                    {s: timedelta(microseconds=us) for s, us in totals[i].items()}
                ),
                announced=MappingProxyType(
                    {s: timedelta(microseconds=us) for s, us in excluded[i].items()}
                )
                if excluded[i]
                else _NO_TIME,
            )
            for i in range(days)
        )
    )


def extend_to_now(
    settled: Uptime,
    state_at_checkpoint: TenantState | None,
    today: Sequence[Transition],
    *,
    now: datetime,
    zone: tzinfo,
    announced_at_checkpoint: bool = False,
) -> Uptime:
    """`settled` (computed with `now` at the start of today) with today filled in.

    `state_at_checkpoint` is the state as today began (`announced_at_checkpoint` if the
    transition into it was) and `today` the transitions since; the result equals
    `compute_uptime` over the whole history.
    """
    checkpoint = settled.days[-1].start
    transitions = list(today)
    if state_at_checkpoint is not None:
        transitions.insert(0, Transition(checkpoint, state_at_checkpoint, announced_at_checkpoint))
    current = compute_uptime(transitions, now=now, zone=zone, days=1)
    return Uptime(settled.days[:-1] + current.days)
