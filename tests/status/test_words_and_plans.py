"""The pure parts: state words, windows from the schedule, zones, numbers for people."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tenantstatus.lifecycle import Activity, Tenant
from tenantstatus.model import TenantState
from tenantstatus.service.status.badge import badge_for, text_width
from tenantstatus.service.status.counts import StateCounts
from tenantstatus.service.status.planning import plan_windows
from tenantstatus.service.status.rendering import TEMPLATES
from tenantstatus.service.status.rollups import Rollup, RollupCache
from tenantstatus.service.status.states import DESCRIPTIONS, Tone, describe, worst
from tenantstatus.service.status.uptime import Uptime
from tenantstatus.service.status.views import describe_span, percent
from tenantstatus.service.status.zones import ReaderZone, format_moment
from tenantstatus.store import ScheduledOperation, ScheduleStatus

NOW = datetime(2026, 11, 25, 12, tzinfo=UTC)


def test_every_state_has_words_and_the_api_verdict_of_the_spec() -> None:
    assert set(DESCRIPTIONS) == set(TenantState)
    for state, description in DESCRIPTIONS.items():
        assert description.api_usable is state.is_running
        assert description.meaning.endswith(".")
        assert description.icon
    assert len({d.severity for d in DESCRIPTIONS.values()}) == len(DESCRIPTIONS)
    assert worst(frozenset({TenantState.Running, TenantState.Unknown})) is TenantState.Unknown
    assert worst(frozenset()) is None
    assert describe(TenantState.Running).severity == 0


def scheduled(ident: int, operation: str, hours: float) -> ScheduledOperation:
    return ScheduledOperation(
        id=ident,
        context_identifier="Cust1",
        operation=operation,
        parameters={},
        run_at=NOW + timedelta(hours=hours),
        status=ScheduleStatus.PENDING,
        created_by="operator",
        created_at=NOW - timedelta(days=1),
    )


def tenant(state: TenantState, activity: Activity | None = None) -> Tenant:
    return Tenant(
        context_identifier="Cust1",
        endpoint="https://h/Cust1",
        state=state,
        state_since=NOW - timedelta(hours=1),
        created_at=NOW - timedelta(days=9),
        activity=activity,
    )


def test_a_planned_upgrade_and_its_end_make_one_window() -> None:
    (window,) = plan_windows(
        [scheduled(2, "upgrade-done", 3), scheduled(1, "upgrade", 2)],
        tenant(TenantState.Running),
        now=NOW,
    )
    assert window.title == "Upgrade" and not window.in_progress and not window.api_usable
    assert (window.starts_at, window.ends_at) == (
        NOW + timedelta(hours=2),
        NOW + timedelta(hours=3),
    )
    assert window.scheduled_id == 1


def test_maintenance_under_way_is_the_first_window_and_a_planned_resume_ends_it() -> None:
    windows = plan_windows(
        [
            scheduled(1, "resume", 1),
            scheduled(2, "maintenance-online", 5),
            scheduled(3, "suspend", 6),
        ],
        tenant(TenantState.OfflineMaintenance, Activity.UPGRADING),
        now=NOW,
    )
    assert [(w.title, w.in_progress, w.ends_at is None) for w in windows] == [
        ("Upgrade", True, False),
        ("Online maintenance", False, True),
    ]
    assert windows[1].api_usable


def test_nothing_planned_means_no_window() -> None:
    assert plan_windows([scheduled(1, "suspend", 1)], tenant(TenantState.Running), now=NOW) == []


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Europe/Oslo", "Europe/Oslo"),
        ("UTC", "UTC"),
        ("../../etc/passwd", "UTC"),
        ("Not/AZone", "UTC"),
        ("", "UTC"),
        ("x" * 65, "UTC"),
    ],
)
def test_the_reader_zone_is_a_real_iana_zone_or_utc(name: str, expected: str) -> None:
    assert ReaderZone.choose(name, None).name == expected


def test_the_cookie_zone_is_url_encoded_and_the_query_wins() -> None:
    assert ReaderZone.choose(None, "Asia%2FTokyo").name == "Asia/Tokyo"
    assert ReaderZone.choose("Europe/Oslo", "Asia%2FTokyo").name == "Europe/Oslo"


def test_moments_read_in_the_readers_zone() -> None:
    oslo = ReaderZone.choose("Europe/Oslo", None)
    assert format_moment(NOW, oslo) == "Wed 25 Nov 2026, 13:00 CET"
    assert format_moment(NOW, ReaderZone.utc()) == "Wed 25 Nov 2026, 12:00 UTC"


@given(st.floats(0, 1))
def test_a_percentage_never_rounds_an_outage_up_to_a_clean_100(share: float) -> None:
    text = percent(share)
    assert (text == "100 %") is (share >= 1.0)
    assert float(text.removesuffix(" %")) <= share * 100 + 1e-9


def test_durations_read_in_their_two_largest_units() -> None:
    assert describe_span(timedelta(seconds=42)) == "42 s"
    assert describe_span(timedelta(minutes=5)) == "5 min"
    assert describe_span(timedelta(hours=2, minutes=5)) == "2 h 5 min"
    assert describe_span(timedelta(days=1, hours=3, minutes=9)) == "1 day 3 h"
    assert describe_span(timedelta(days=3)) == "3 days"


def relative_luminance(hex_colour: str) -> float:
    channels = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    high, low = sorted((relative_luminance(a), relative_luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


@pytest.mark.parametrize("state", list(TenantState))
def test_badge_text_has_aa_contrast_and_fits(state: TenantState) -> None:
    badge = badge_for("Cust12345", state)
    assert contrast(badge.colour, "#ffffff") >= 4.5
    assert contrast(badge.label_colour, "#ffffff") >= 4.5
    assert badge.message == describe(state).badge
    assert badge.width == text_width("Cust12345") + text_width(badge.message) + 24


def css_colours(block: str) -> dict[str, str]:
    return dict(re.findall(r"--([a-z-]+): (#[0-9a-f]{6});", block))


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_page_colours_have_aa_contrast_in_both_schemes(scheme: str) -> None:
    css = (TEMPLATES / "status.css").read_text()
    dark_start = css.index("@media (prefers-color-scheme: dark)")
    colours = css_colours(css[:dark_start] if scheme == "light" else css[dark_start:])
    for background in ("bg", "panel"):
        for name in ("fg", "muted", "link", *(f"tone-{t}" for t in Tone)):
            # Tones are text too (state names), so they need 4.5:1, not just 3:1.
            assert contrast(colours[name], colours[background]) >= 4.5, (name, background)


def test_counts_are_taken_again_only_when_old() -> None:
    clock = [0.0]
    calls = []

    def source() -> dict[TenantState, int]:
        calls.append(clock[0])
        return {TenantState.Running: len(calls)}

    counts = StateCounts(source, max_age=5, monotonic=lambda: clock[0])
    assert counts.get() == {TenantState.Running: 1}
    clock[0] = 4.9
    assert counts.get() == {TenantState.Running: 1} and counts.age() == pytest.approx(4.9)
    clock[0] = 5.1
    assert counts.get() == {TenantState.Running: 2}


def test_the_rollup_cache_forgets_the_least_recently_used() -> None:
    cache = RollupCache(capacity=2)
    rollup = Rollup(NOW, 0, Uptime(()), None, ())
    cache.put("A", "UTC", rollup)
    cache.put("B", "UTC", rollup)
    assert cache.get("A", "UTC", NOW) is rollup  # A is now the most recent
    cache.put("C", "UTC", rollup)
    assert cache.get("B", "UTC", NOW) is None
    assert cache.get("A", "UTC", NOW) is rollup and len(cache) == 2
