"""The maintenance calendars (RFC 5545): one VEVENT per planned window and upgrade.

Pure: `calendar_events` takes what the store read and returns the events; `calendar_ics`
writes them with the `icalendar` library. An event's UID names the scheduled operation
that opens the window (stable across every change), its SEQUENCE is that operation's
revision plus the updates of its message (both only grow), a cancelled or refused window
is STATUS:CANCELLED, the message and its updates are the DESCRIPTION, and the tenant's
page is the URL.

    >>> calendar_ics(calendar_events(data, base_url=url, now=now), name="Cust1", url=url)
    b'BEGIN:VCALENDAR\\r\\n...'
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from icalendar import Calendar, Event

from tenantstatus.__about__ import __version__
from tenantstatus.lifecycle import Tenant
from tenantstatus.service.status.planning import WINDOW_TITLES, Window, plan_windows, runnable
from tenantstatus.service.status.states import operation_heading
from tenantstatus.store import Notice, ScheduledOperation, ScheduleStatus
from tenantstatus.store.calendar_sql import CalendarData

__all__ = [
    "CALENDAR_EVENTS",
    "FINISHED_KEPT",
    "CalendarEvent",
    "calendar_events",
    "calendar_ics",
]

FINISHED_KEPT = timedelta(days=30)  # windows that ran or were cancelled stay this long
CALENDAR_EVENTS = 500  # scheduled operations read for one calendar, at most
_CLOSERS = frozenset({"upgrade-done", "restore-done", "maintenance-done", "resume"})
_ENDED = frozenset({ScheduleStatus.CANCELLED, ScheduleStatus.FAILED})


@dataclass(frozen=True, slots=True)
class CalendarEvent:
    """One VEVENT, before it is written."""

    uid: str
    sequence: int
    summary: str
    description: str
    starts_at: datetime
    ends_at: datetime | None
    cancelled: bool
    created: datetime
    last_modified: datetime
    url: str


def _modified(
    since: datetime, operation: ScheduledOperation | None, notice: Notice | None
) -> datetime:
    """The event's last change: `since` at the earliest."""
    instants = [since] if operation is None else [since, operation.created_at]
    if operation is not None and operation.finished_at is not None:
        instants.append(operation.finished_at)
    if notice is not None:
        instants.append(notice.updated_at)
    return max(instants)


def _description(heading: str, operation: str, ctx: str, notice: Notice | None, url: str) -> str:
    api = "the API stays usable" if operation == "maintenance-online" else "the API is down"
    lines = [f"{heading} of {ctx}; {api} meanwhile."]
    if notice is not None:
        lines += ["", notice.body]
        lines += [f"Update {u.posted_at.astimezone(UTC):%Y-%m-%d %H:%M} UTC: {u.body}"
                  for u in notice.updates]  # fmt: skip
    lines += ["", f"Status page: {url}"]
    return "\n".join(lines)


class _TenantCalendar:
    """The events of one tenant."""

    def __init__(
        self,
        tenant: Tenant,
        operations: Sequence[ScheduledOperation],
        notices: Sequence[Notice],
        *,
        base_url: str,
        now: datetime,
    ) -> None:
        self.tenant = tenant
        self.ctx = tenant.context_identifier
        self.operations = sorted(operations, key=lambda o: (o.run_at, o.id))
        self.by_scheduled = {n.scheduled_id: n for n in notices if n.scheduled_id is not None}
        self.under_way = [n for n in notices if n.scheduled_id is None and n.is_open]
        self.url = f"{base_url}/status/{self.ctx}"
        self.host = urlsplit(base_url).hostname or "tenantstatus"
        self.now = now

    def event(
        self,
        key: str,
        operation: str,
        *,
        scheduled: ScheduledOperation | None,
        notice: Notice | None,
        starts_at: datetime,
        ends_at: datetime | None,
        cancelled: bool = False,
    ) -> CalendarEvent:
        version = None
        if operation == "upgrade":
            version = (
                scheduled.parameters.get("VersionName")
                if scheduled is not None
                else self.tenant.pending_version_name
            )
        heading = operation_heading(operation, version)
        revision = 0 if scheduled is None else scheduled.revision
        created = scheduled.created_at if scheduled is not None else starts_at
        if notice is not None and scheduled is None:
            created = notice.posted_at
        return CalendarEvent(
            uid=f"{self.ctx}-{key}@{self.host}",
            sequence=revision + (0 if notice is None else len(notice.updates)),
            summary=f"{heading} of {self.ctx}",
            description=_description(heading, operation, self.ctx, notice, self.url),
            starts_at=starts_at,
            ends_at=ends_at if ends_at is not None else (notice.until if notice else None),
            cancelled=cancelled,
            created=created,
            last_modified=_modified(created, scheduled, notice),
            url=self.url,
        )

    def events(self) -> list[CalendarEvent]:
        """The planned windows, the one under way, those that ran and those cancelled."""
        pending = [o for o in self.operations if o.status is ScheduleStatus.PENDING]
        plan = runnable(pending, self.tenant)
        windows = plan_windows(plan, self.tenant, now=self.now)
        ran = [o for o in self.operations if o.status is ScheduleStatus.DONE]
        found: list[CalendarEvent] = []
        current_opener: ScheduledOperation | None = None
        for window in windows:
            found.append(self._planned(window, ran))
            if window.scheduled_id is None:
                current_opener = self._opener_under_way(window, ran)
        for index, operation in enumerate(ran):
            if operation.operation not in WINDOW_TITLES or operation is current_opener:
                continue
            # The window ends with the next closer that ran, unless another opener ran first.
            after = (o for o in ran[index + 1 :] if o.operation in _CLOSERS | WINDOW_TITLES.keys())
            closer = next(after, None)
            notice = self.by_scheduled.get(operation.id)
            # The planned end, as the event said while it was under way: running the
            # closer touches no finished operation, so nothing here may move with it.
            ended = None
            if closer is not None and closer.operation in _CLOSERS:
                ended = closer.run_at
            found.append(
                self.event(
                    f"s{operation.id}",
                    operation.operation,
                    scheduled=operation,
                    notice=notice,
                    starts_at=operation.finished_at or operation.run_at,
                    ends_at=ended,
                )
            )
        for operation in self.operations:
            if operation.status in _ENDED and operation.operation in WINDOW_TITLES:
                found.append(
                    self.event(
                        f"s{operation.id}",
                        operation.operation,
                        scheduled=operation,
                        notice=self.by_scheduled.get(operation.id),
                        starts_at=operation.run_at,
                        ends_at=None,
                        cancelled=True,
                    )
                )
        found.sort(key=lambda e: (e.starts_at, e.uid))
        return found

    def _opener_under_way(
        self, window: Window, ran: Sequence[ScheduledOperation]
    ) -> ScheduledOperation | None:
        """The scheduled operation that opened the window under way, if one did."""
        for operation in reversed(ran):
            if operation.operation in WINDOW_TITLES or operation.operation in _CLOSERS:
                finished = operation.finished_at or operation.run_at
                opened = operation.operation == window.operation
                return operation if opened and finished >= window.starts_at else None
        return None

    def _planned(self, window: Window, ran: Sequence[ScheduledOperation]) -> CalendarEvent:
        if window.scheduled_id is not None:
            scheduled = next(o for o in self.operations if o.id == window.scheduled_id)
            return self.event(
                f"s{scheduled.id}",
                window.operation,
                scheduled=scheduled,
                notice=self.by_scheduled.get(scheduled.id),
                starts_at=window.starts_at,
                ends_at=window.ends_at,
            )
        opener = self._opener_under_way(window, ran)
        if opener is not None:
            return self.event(
                f"s{opener.id}",
                window.operation,
                scheduled=opener,
                notice=self.by_scheduled.get(opener.id),
                starts_at=opener.finished_at or opener.run_at,
                ends_at=window.ends_at,
            )
        notice = next((n for n in self.under_way if n.operation == window.operation), None)
        key = f"h{notice.history_id}" if notice is not None else self._since_key()
        return self.event(
            key,
            window.operation,
            scheduled=None,
            notice=notice,
            starts_at=window.starts_at,
            ends_at=window.ends_at,
        )

    def _since_key(self) -> str:
        return f"t{self.tenant.state_since.astimezone(UTC):%Y%m%dT%H%M%S%f}"


def calendar_events(data: CalendarData, *, base_url: str, now: datetime) -> list[CalendarEvent]:
    """Every event of the tenants in `data`, soonest first."""
    found: list[CalendarEvent] = []
    for ctx, tenant in sorted(data.tenants.items()):
        operations = [o for o in data.operations if o.context_identifier == ctx]
        notices = [
            n for n in data.notices if n.context_identifier == ctx or n.scheduled_id is not None
        ]
        found += _TenantCalendar(tenant, operations, notices, base_url=base_url, now=now).events()
    found.sort(key=lambda e: (e.starts_at, e.uid))
    return found


def calendar_ics(events: Sequence[CalendarEvent], *, name: str, url: str) -> bytes:
    """The calendar as RFC 5545 text: a published calendar (no METHOD), in UTC."""
    calendar = Calendar()
    calendar.add("prodid", f"-//tenantstatus//tenantstatus {__version__}//EN")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("name", name)
    calendar.add("x-wr-calname", name)
    calendar.add("url", url)
    calendar.add("refresh-interval", timedelta(minutes=15), parameters={"VALUE": "DURATION"})
    calendar.add("x-published-ttl", "PT15M")
    for item in events:
        event = Event()
        event.add("uid", item.uid)
        event.add("sequence", item.sequence)
        # A published calendar's DTSTAMP is when the event last changed (RFC 5545 3.8.7.2).
        event.add("dtstamp", item.last_modified.astimezone(UTC))
        event.add("created", item.created.astimezone(UTC))
        event.add("last-modified", item.last_modified.astimezone(UTC))
        event.add("dtstart", item.starts_at.astimezone(UTC))
        if item.ends_at is not None and item.ends_at > item.starts_at:
            event.add("dtend", item.ends_at.astimezone(UTC))
        event.add("summary", item.summary)
        event.add("description", item.description)
        event.add("url", item.url)
        event.add("status", "CANCELLED" if item.cancelled else "CONFIRMED")
        event.add("transp", "OPAQUE")
        calendar.add_component(event)
    return bytes(calendar.to_ical())
