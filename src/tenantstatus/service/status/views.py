"""View models: what the templates show, built from the tenant, its history and its plan.

Pure: every function takes values (the current instant and the reader's zone
included) and returns frozen dataclasses the templates only print.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from tenantstatus.lifecycle import Activity, Tenant
from tenantstatus.model import TenantState
from tenantstatus.service.status.notices import NoticeView, notice_views
from tenantstatus.service.status.planning import Window
from tenantstatus.service.status.states import (
    StateDescription,
    describe,
    describe_operation,
    describe_plan,
)
from tenantstatus.service.status.uptime import DayUptime, Uptime
from tenantstatus.service.status.zones import Moment, ReaderZone, format_clock
from tenantstatus.store import Notice, ScheduledOperation
from tenantstatus.store.status_sql import StateChange, TenantListing

__all__ = [
    "ChangeRow",
    "DayCell",
    "Moment",
    "PlannedRow",
    "TenantPageView",
    "TenantRow",
    "WindowView",
    "change_rows",
    "day_cells",
    "describe_span",
    "percent",
    "planned_rows",
    "state_counts",
    "tenant_page_view",
    "tenant_rows",
    "window_view",
]


def describe_span(span: timedelta) -> str:
    """A duration in the two largest units: `3 days 4 h`, `2 h 5 min`, `40 s`."""
    seconds = int(span.total_seconds())
    if seconds < 60:
        return f"{max(seconds, 0)} s"
    minutes, _ = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    if days:
        unit = "day" if days == 1 else "days"
        return f"{days} {unit} {hours} h" if hours else f"{days} {unit}"
    if hours:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    return f"{minutes} min"


def percent(share: float) -> str:
    """A share as a percentage that never rounds a partial outage up to 100 %."""
    if share >= 1.0:
        return "100 %"
    value = math.floor(share * 10_000) / 100
    return f"{value:.2f} %"


@dataclass(frozen=True, slots=True)
class DayCell:
    """One day of the 90-day bar."""

    label: str
    iso_date: str
    share: float | None
    worst: StateDescription | None
    time_in: tuple[tuple[StateDescription, str], ...]
    planned: tuple[str, ...]

    @property
    def height(self) -> int:
        """The running share in tenths (0..10), for the bar's height; never 10 unless all."""
        if self.share is None:
            return 0
        if self.share >= 1.0:
            return 10
        return min(9, math.ceil(self.share * 10))

    @property
    def tone(self) -> str:
        """The worst state's tone, or `none` for a day without data."""
        return "none" if self.worst is None else str(self.worst.tone)

    @property
    def summary(self) -> str:
        """The whole day in one sentence: the tooltip and the screen reader text."""
        if self.share is None or self.worst is None:
            text = f"{self.label}: no data"
        else:
            spent = ", ".join(f"{d.label} {span}" for d, span in self.time_in)
            text = (
                f"{self.label}: {percent(self.share)} running; worst: {self.worst.label} ({spent})"
            )
        if self.planned:
            text += "; planned: " + ", ".join(self.planned)
        return text


def day_cells(uptime: Uptime, zone: ReaderZone, windows: Sequence[Window] = ()) -> list[DayCell]:
    """The bar's cells, oldest day first."""
    cells = []
    for day in uptime.days:
        cells.append(_cell(day, zone, windows))
    return cells


def _cell(day: DayUptime, zone: ReaderZone, windows: Sequence[Window]) -> DayCell:
    by_severity = sorted(day.time_in.items(), key=lambda item: describe(item[0]).severity)
    planned = tuple(
        f"{w.title} at {format_clock(w.starts_at, zone)}"
        for w in windows
        if not w.in_progress and day.start <= w.starts_at < day.end
    )
    return DayCell(
        label=f"{day.day:%a} {day.day.day} {day.day:%b} {day.day.year}",
        iso_date=day.day.isoformat(),
        share=day.running_share,
        worst=None if day.worst is None else describe(day.worst),
        time_in=tuple((describe(s), describe_span(d)) for s, d in by_severity if d),
        planned=planned,
    )


@dataclass(frozen=True, slots=True)
class ChangeRow:
    """One line of the recent history."""

    id: int
    at: Moment
    text: str
    from_state: StateDescription | None
    to_state: StateDescription
    context_identifier: str

    @property
    def changed_state(self) -> bool:
        """False for operations that keep the state (move, set-version)."""
        return self.from_state is None or self.from_state.state is not self.to_state.state

    @property
    def title(self) -> str:
        """`Cust1: Upgrade started (Running → Offline maintenance)`."""
        if self.changed_state and self.from_state is not None:
            move = f" ({self.from_state.label} \u2192 {self.to_state.label})"
        else:
            move = f" ({self.to_state.label})"
        return f"{self.context_identifier}: {self.text}{move}"


def change_rows(changes: Sequence[StateChange], zone: ReaderZone) -> list[ChangeRow]:
    """History rows for people, in the order given."""
    return [
        ChangeRow(
            id=c.id,
            at=Moment(c.at, zone),
            text=describe_operation(c.operation),
            from_state=None if c.from_state is None else describe(c.from_state),
            to_state=describe(c.to_state),
            context_identifier=c.context_identifier,
        )
        for c in changes
    ]


@dataclass(frozen=True, slots=True)
class PlannedRow:
    """A pending scheduled operation, with the message it carries (if any)."""

    id: int
    at: Moment
    text: str
    context_identifier: str
    created_at: Moment
    notice: NoticeView | None = None

    @property
    def sentence(self) -> str:
        """`Will be upgraded to Release 11.11`: the plan, capitalised, for the page."""
        return self.text[:1].upper() + self.text[1:]


def planned_rows(
    scheduled: Sequence[ScheduledOperation],
    zone: ReaderZone,
    notices: Sequence[NoticeView] = (),
) -> list[PlannedRow]:
    """Pending operations for people, soonest first, in the future tense."""
    by_schedule = {n.scheduled_id: n for n in notices if n.planned}
    return [
        PlannedRow(
            id=s.id,
            at=Moment(s.run_at, zone),
            text=describe_plan(s.operation, s.parameters.get("VersionName")),
            context_identifier=s.context_identifier,
            created_at=Moment(s.created_at, zone),
            notice=by_schedule.get(s.id),
        )
        for s in sorted(scheduled, key=lambda s: (s.run_at, s.id))
    ]


@dataclass(frozen=True, slots=True)
class WindowView:
    """A maintenance window for people."""

    title: str
    starts: Moment
    ends: Moment | None
    in_progress: bool
    api_usable: bool


def window_view(window: Window, zone: ReaderZone) -> WindowView:
    """A window with its instants in the reader's zone."""
    return WindowView(
        title=window.title,
        starts=Moment(window.starts_at, zone),
        ends=None if window.ends_at is None else Moment(window.ends_at, zone),
        in_progress=window.in_progress,
        api_usable=window.api_usable,
    )


@dataclass(frozen=True, slots=True)
class TenantPageView:
    """Everything the tenant page shows."""

    context_identifier: str
    state: StateDescription
    headline: str
    meaning: str
    since: Moment
    for_how_long: str
    version_name: str
    file_version: str
    release_label: str | None
    endpoint: str
    under_way: WindowView | None
    expected_end: Moment | None
    window: WindowView | None
    days: Sequence[DayCell]
    uptime: str
    quotable_uptime: str
    planned: Sequence[PlannedRow]
    changes: Sequence[ChangeRow]
    current_notices: Sequence[NoticeView]
    earlier_notices: Sequence[NoticeView]
    now: Moment
    zone: ReaderZone


def _headline(tenant: Tenant, description: StateDescription) -> tuple[str, str]:
    """What the page is headed with, and what it means, for the tenant as it is."""
    if tenant.activity is Activity.UPGRADING and tenant.state is TenantState.OfflineMaintenance:
        target = tenant.pending_version_name
        headline = f"Upgrading to {target}" if target else "Upgrading"
        return headline, "Offline while the upgrade runs; the API is back when it is done."
    if tenant.activity is Activity.RESTORING:
        return "Restoring from a backup", "Offline while a backup is restored."
    return description.label, description.meaning


def tenant_page_view(
    tenant: Tenant,
    *,
    uptime: Uptime,
    windows: Sequence[Window],
    scheduled: Sequence[ScheduledOperation],
    changes: Sequence[StateChange],
    now: datetime,
    zone: ReaderZone,
    settled_cells: Sequence[DayCell] | None = None,
    notices: Sequence[Notice] = (),
) -> TenantPageView:
    """The tenant page's view model.

    `settled_cells`, the cells of every day but today (past days do not change), saves
    building them again. `windows` and `scheduled` are what can run from the tenant's
    state (`planning.runnable`); `notices` its notices, newest first.
    """
    share, quotable = uptime.running_share, uptime.quotable_share
    if settled_cells is None:
        days = day_cells(uptime, zone, windows)
    else:
        days = [*settled_cells, _cell(uptime.days[-1], zone, windows)]
    views = notice_views(notices, zone, tenant=tenant)
    current = [n for n in views if n.is_open and not n.planned]
    under_way = next((w for w in windows if w.in_progress), None)
    coming = next((w for w in windows if not w.in_progress), None)
    expected = next((n.until for n in current if n.operation is not None and n.until), None)
    if expected is None and under_way is not None and under_way.ends_at is not None:
        expected = Moment(under_way.ends_at, zone)
    description = describe(tenant.state)
    headline, meaning = _headline(tenant, description)
    return TenantPageView(
        context_identifier=tenant.context_identifier,
        state=description,
        headline=headline,
        meaning=meaning,
        since=Moment(tenant.state_since, zone),
        for_how_long=describe_span(now - tenant.state_since),
        version_name=tenant.version_name,
        file_version=tenant.file_version,
        release_label=tenant.release_label,
        endpoint=tenant.endpoint,
        under_way=None if under_way is None else window_view(under_way, zone),
        expected_end=expected,
        window=None if coming is None else window_view(coming, zone),
        days=days,
        uptime="no data" if share is None else f"{percent(share)} running",
        quotable_uptime="no time outside it" if quotable is None else percent(quotable),
        planned=planned_rows(scheduled, zone, views),
        changes=change_rows(changes, zone),
        current_notices=current,
        earlier_notices=[n for n in views if not n.is_open],
        now=Moment(now, zone),
        zone=zone,
    )


@dataclass(frozen=True, slots=True)
class TenantRow:
    """One line of the overview."""

    context_identifier: str
    state: StateDescription
    since: Moment
    version_name: str


def tenant_rows(listings: Sequence[TenantListing], zone: ReaderZone) -> list[TenantRow]:
    """Overview lines for people."""
    return [
        TenantRow(
            t.context_identifier, describe(t.state), Moment(t.state_since, zone), t.version_name
        )
        for t in listings
    ]


def state_counts(counts: dict[TenantState, int]) -> list[tuple[StateDescription, int]]:
    """Every state with its count, best state first, zeros included."""
    ordered = sorted(TenantState, key=lambda s: describe(s).severity)
    return [(describe(s), counts.get(s, 0)) for s in ordered]
