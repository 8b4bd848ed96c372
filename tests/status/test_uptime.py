"""Uptime arithmetic against a minute-by-minute reference, across days, zones and DST."""

from __future__ import annotations

import itertools
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from tenantstatus.model import TenantState
from tenantstatus.service.status.states import worst
from tenantstatus.service.status.uptime import (
    Transition,
    compute_uptime,
    day_boundaries,
    extend_to_now,
)

MINUTE = timedelta(minutes=1)
ZONES = [
    UTC,
    ZoneInfo("Europe/Oslo"),
    ZoneInfo("America/New_York"),
    ZoneInfo("Australia/Lord_Howe"),  # a 30-minute DST shift
    ZoneInfo("Asia/Kathmandu"),  # +05:45
    ZoneInfo("America/Havana"),  # DST changes at midnight
    ZoneInfo("Pacific/Chatham"),  # +12:45 / +13:45
]
# Around the 2026 DST changes of both hemispheres, and a plain stretch.
ANCHORS = [
    datetime(2026, 3, 7, tzinfo=UTC),
    datetime(2026, 4, 3, tzinfo=UTC),
    datetime(2026, 10, 23, tzinfo=UTC),
    datetime(2026, 10, 31, tzinfo=UTC),
    datetime(2026, 7, 1, tzinfo=UTC),
]


MAINTENANCE = {TenantState.OfflineMaintenance, TenantState.OnlineMaintenance}
Minutes = dict[date, dict[TenantState, int]]


def reference(
    transitions: list[Transition], now: datetime, zone: tzinfo, days: int
) -> tuple[Minutes, Minutes]:
    """Minutes per state per local day, one minute at a time: all of them, and those in
    announced maintenance (the state entered by an announced transition, until the next)."""
    today = now.astimezone(zone).date()
    first_day = today - timedelta(days=days - 1)
    minutes: Minutes = defaultdict(lambda: defaultdict(int))
    announced: Minutes = defaultdict(lambda: defaultdict(int))
    if not transitions:
        return minutes, announced
    moment = min(t.at for t in transitions)
    while moment < now:
        current = None
        for t in transitions:  # the last one at or before this minute wins
            if t.at <= moment:
                current = t
        day = moment.astimezone(zone).date()
        if current is not None and first_day <= day <= today:
            minutes[day][current.state] += 1
            if current.announced and current.state in MAINTENANCE:
                announced[day][current.state] += 1
        moment += MINUTE
    return minutes, announced


@st.composite
def histories(draw: st.DrawFn) -> tuple[list[Transition], datetime, tzinfo, int]:
    zone = draw(st.sampled_from(ZONES))
    anchor = draw(st.sampled_from(ANCHORS))
    days = draw(st.integers(1, 4))
    now = anchor + MINUTE * draw(st.integers(0, 4 * 1440))
    offsets = sorted(draw(st.lists(st.integers(-6 * 1440, 4 * 1440), max_size=12)))
    states = draw(
        st.lists(st.sampled_from(list(TenantState)), min_size=len(offsets), max_size=len(offsets))
    )
    flags = draw(st.lists(st.booleans(), min_size=len(offsets), max_size=len(offsets)))
    transitions = [
        Transition(anchor + MINUTE * offset, state, flag)
        for offset, state, flag in zip(offsets, states, flags, strict=True)
    ]
    return transitions, now, zone, days


@settings(max_examples=150, deadline=None)
@given(histories())
def test_uptime_matches_a_minute_by_minute_reference(
    case: tuple[list[Transition], datetime, tzinfo, int],
) -> None:
    transitions, now, zone, days = case
    report = compute_uptime(transitions, now=now, zone=zone, days=days)
    expected, announced = reference(transitions, now, zone, days)
    assert len(report.days) == days
    assert report.days[-1].day == now.astimezone(zone).date()
    for day in report.days:
        minutes = {s: d // MINUTE for s, d in day.time_in.items() if d}
        assert minutes == {s: n for s, n in expected.get(day.day, {}).items() if n}, day.day
        assert all(d % MINUTE == timedelta(0) for d in day.time_in.values())
        assert day.worst == worst(frozenset(minutes))
        running = sum(n for s, n in minutes.items() if s.is_running)
        observed = sum(minutes.values())
        assert day.running_share == (running / observed if observed else None)
        excluded = {s: d // MINUTE for s, d in day.announced.items() if d}
        assert excluded == {s: n for s, n in announced.get(day.day, {}).items() if n}, day.day
    every = [m for d in expected.values() for m in d.items()]
    kept = [m for d in announced.values() for m in d.items()]
    outside = sum(n for _, n in every) - sum(n for _, n in kept)
    running_outside = sum(n for s, n in every if s.is_running) - sum(
        n for s, n in kept if s.is_running
    )
    quotable = report.quotable_share
    if outside:
        assert quotable is not None and abs(quotable - running_outside / outside) < 1e-12
    else:
        assert quotable is None
    if report.running_share is not None and quotable is not None and not kept:
        assert quotable == report.running_share


@given(st.sampled_from(ZONES), st.dates(date(2000, 1, 1), date(2037, 12, 31)))
def test_days_are_contiguous_and_start_at_local_midnight(zone: tzinfo, last_day: date) -> None:
    bounds = day_boundaries(last_day, 3, zone)
    assert all(a < b for a, b in itertools.pairwise(bounds))
    for i, bound in enumerate(bounds):
        assert bound.astimezone(zone).date() == last_day - timedelta(days=2 - i)
        just_before = (bound - MINUTE).astimezone(zone).date()
        assert just_before == last_day - timedelta(days=3 - i)


def test_a_tenant_created_mid_window_is_judged_on_the_time_it_existed() -> None:
    now = datetime(2026, 11, 25, 12, tzinfo=UTC)
    created = datetime(2026, 11, 24, 18, tzinfo=UTC)
    report = compute_uptime(
        [
            Transition(created, TenantState.Provisioning),
            Transition(created + timedelta(hours=3), TenantState.Running),
        ],
        now=now,
        zone=UTC,
        days=90,
    )
    assert all(day.running_share is None for day in report.days[:-2])
    assert report.days[-2].observed == timedelta(hours=6)
    assert report.days[-2].running_share == 0.5
    assert report.days[-2].worst is TenantState.Provisioning
    assert report.days[-1].running_share == 1.0
    assert report.observed == timedelta(hours=18)
    assert report.running_share == 15 / 18


def test_a_day_across_a_dst_change_lasts_23_hours_in_oslo() -> None:
    oslo = ZoneInfo("Europe/Oslo")
    now = datetime(2026, 3, 30, 12, tzinfo=UTC)
    report = compute_uptime(
        [Transition(datetime(2026, 3, 1, tzinfo=UTC), TenantState.Running)],
        now=now,
        zone=oslo,
        days=3,
    )
    assert report.days[0].day == date(2026, 3, 28)
    assert report.days[1].observed == timedelta(hours=23)  # 29 March: clocks go forward
    assert report.days[1].end - report.days[1].start == timedelta(hours=23)


def test_operations_scheduled_in_the_future_do_not_count_yet() -> None:
    now = datetime(2026, 11, 25, 12, tzinfo=UTC)
    report = compute_uptime(
        [
            Transition(datetime(2026, 11, 1, tzinfo=UTC), TenantState.Running),
            Transition(now + timedelta(hours=2), TenantState.OfflineMaintenance),
        ],
        now=now,
        zone=UTC,
        days=2,
    )
    assert report.days[-1].observed == timedelta(hours=12)
    assert report.days[-1].worst is TenantState.Running


@settings(max_examples=150, deadline=None)
@given(histories())
def test_settled_days_plus_today_equal_the_whole_computation(
    case: tuple[list[Transition], datetime, tzinfo, int],
) -> None:
    transitions, now, zone, days = case
    checkpoint = day_boundaries(now.astimezone(zone).date(), 1, zone)[0]
    before = [t for t in transitions if t.at < checkpoint]
    settled = compute_uptime(before, now=checkpoint, zone=zone, days=days)
    extended = extend_to_now(
        settled,
        before[-1].state if before else None,
        [t for t in transitions if t.at >= checkpoint],
        now=now,
        zone=zone,
        announced_at_checkpoint=before[-1].announced if before else False,
    )
    assert extended == compute_uptime(transitions, now=now, zone=zone, days=days)


def test_announced_maintenance_is_left_out_of_the_quotable_share_only() -> None:
    created = datetime(2026, 11, 25, 11, tzinfo=UTC)
    now = created + timedelta(hours=1)
    upgrade = created + timedelta(minutes=2)
    history = [
        Transition(created, TenantState.Running),
        Transition(upgrade, TenantState.OfflineMaintenance, announced=True),
        Transition(upgrade + timedelta(minutes=30), TenantState.Running),
    ]
    report = compute_uptime(history, now=now, zone=UTC, days=90)
    assert report.running_share == 30 / 60
    assert report.quotable_share == 1.0
    unannounced = [Transition(t.at, t.state) for t in history]
    assert compute_uptime(unannounced, now=now, zone=UTC, days=90).quotable_share == 30 / 60
