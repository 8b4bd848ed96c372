"""One tenant's status in the shapes of Statuspage's v2 public API.

Tools that read a Statuspage page (dashboards, chat bots, uptime monitors) read
this: `page`, `status` (indicator and description), `components` (one: the
tenant), `incidents` (the tenant is Unknown or a step failed, and the notices a
person wrote that are not a maintenance) and `scheduled_maintenances` (the window
under way, the planned ones and those finished lately), each with its
`incident_updates`: the messages and their updates, newest first. `created_at` is
when a thing was posted, never its start. Pure: it takes values and returns
JSON-ready dicts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from tenantstatus.lifecycle import Tenant
from tenantstatus.model import TenantState
from tenantstatus.service.status.planning import WINDOW_TITLES, Window
from tenantstatus.service.status.states import ComponentStatus, describe, operation_heading
from tenantstatus.store import Notice, NoticeResolution, NoticeScope, ScheduledOperation
from tenantstatus.store.status_sql import StateChange

__all__ = ["StatuspageParts", "statuspage_instant", "statuspage_parts", "summary_document"]

_INCIDENT_STATES = frozenset(
    {TenantState.Unknown, TenantState.ProvisioningFailed, TenantState.DeleteFailed}
)
_UNRESOLVED = frozenset({"investigating", "identified", "monitoring"})


def statuspage_instant(instant: datetime | None) -> str | None:
    """Statuspage's timestamp format, in UTC: `2026-11-25T21:04:05.123Z`."""
    if instant is None:
        return None
    utc = instant.astimezone(UTC)
    return f"{utc:%Y-%m-%dT%H:%M:%S}.{utc.microsecond // 1000:03d}Z"


@dataclass(frozen=True, slots=True)
class StatuspageParts:
    """The pieces every v2 document is cut from; incidents and maintenances newest first."""

    page: dict[str, Any]
    status: dict[str, str]
    components: list[dict[str, Any]]
    incidents: list[dict[str, Any]]
    maintenances: list[dict[str, Any]]

    @property
    def unresolved_incidents(self) -> list[dict[str, Any]]:
        """Incidents investigating, identified or monitoring."""
        return [i for i in self.incidents if i["status"] in _UNRESOLVED]

    def maintenances_in(self, *statuses: str) -> list[dict[str, Any]]:
        """The maintenances in one of `statuses`."""
        return [m for m in self.maintenances if m["status"] in statuses]


def _indicator(state: TenantState) -> tuple[str, str]:
    description = describe(state)
    if description.component_status is ComponentStatus.OPERATIONAL:
        return "none", "All Systems Operational"
    if description.component_status is ComponentStatus.UNDER_MAINTENANCE:
        return "maintenance", f"{description.label}: {description.meaning}"
    if state is TenantState.Unknown:
        return "critical", f"{description.label}: {description.meaning}"
    return "major", f"{description.label}: {description.meaning}"


def _since_change(tenant: Tenant, changes: Sequence[StateChange]) -> StateChange | None:
    """The history row that put the tenant into its current state."""
    for change in changes:  # newest first
        if change.to_state is tenant.state and change.from_state is not tenant.state:
            return change
    return None


def _is_maintenance(notice: Notice) -> bool:
    return notice.operation in WINDOW_TITLES


def statuspage_parts(
    tenant: Tenant,
    *,
    page_url: str,
    windows: Sequence[Window],
    changes: Sequence[StateChange],
    now: datetime,
    scheduled: Sequence[ScheduledOperation] = (),
    notices: Sequence[Notice] = (),
) -> StatuspageParts:
    """Everything the v2 documents show of `tenant`; `changes` newest first, `scheduled`
    the pending operations the windows come from, `notices` newest first."""
    ctx = tenant.context_identifier
    description = describe(tenant.state)
    updated = max([tenant.state_since, *(c.at for c in changes[:1])])
    component = {
        "id": ctx,
        "name": ctx,
        "status": str(description.component_status),
        "created_at": statuspage_instant(tenant.created_at),
        "updated_at": statuspage_instant(tenant.state_since),
        "position": 1,
        "description": f"{description.label}: {description.meaning}",
        "showcase": True,
        "start_date": tenant.created_at.astimezone(UTC).date().isoformat(),
        "group_id": None,
        "page_id": ctx,
        "group": False,
        "only_show_if_degraded": False,
    }
    indicator, status_text = _indicator(tenant.state)
    began = _since_change(tenant, changes)
    incidents: list[dict[str, Any]] = []
    own_notice = None
    if tenant.state in _INCIDENT_STATES:
        # A message given with the operation that began it is that incident's text.
        own_notice = next(
            (n for n in notices if began is not None and n.history_id == began.id), None
        )
        incident_id = f"{ctx}-h{began.id}" if began is not None else f"{ctx}-now"
        status = "investigating" if tenant.state is TenantState.Unknown else "identified"
        old = None if began is None or began.from_state is None else began.from_state
        incidents.append(
            _record(
                incident_id,
                name=f"{ctx}: {description.label}",
                status=status,
                impact=indicator,
                posted=tenant.state_since if own_notice is None else own_notice.posted_at,
                updated=tenant.state_since if own_notice is None else own_notice.updated_at,
                started=tenant.state_since,
                updates=_messages(own_notice, status, description.meaning, tenant.state_since),
                page_url=page_url,
                component=component,
                transition=(
                    "operational" if old is None else str(describe(old).component_status),
                    str(component["status"]),
                ),
            )
        )
    for notice in notices:
        if notice is own_notice or _is_maintenance(notice) or notice.is_planned:
            continue
        incidents.append(_notice_incident(notice, ctx, page_url, component, indicator))
    incidents.sort(key=lambda i: str(i["created_at"]), reverse=True)
    maintenances = _maintenances(
        windows, scheduled, notices, tenant, changes, page_url, component, now
    )
    return StatuspageParts(
        page={
            "id": ctx,
            "name": f"{ctx} status",
            "url": page_url,
            "time_zone": "Etc/UTC",
            "updated_at": statuspage_instant(updated),
        },
        status={"indicator": indicator, "description": status_text},
        components=[component],
        incidents=incidents,
        maintenances=maintenances,
    )


def summary_document(
    tenant: Tenant,
    *,
    page_url: str,
    windows: Sequence[Window],
    changes: Sequence[StateChange],
    now: datetime,
    scheduled: Sequence[ScheduledOperation] = (),
    notices: Sequence[Notice] = (),
) -> dict[str, Any]:
    """summary.json: unresolved incidents, and maintenances planned or under way."""
    parts = statuspage_parts(
        tenant,
        page_url=page_url,
        windows=windows,
        changes=changes,
        now=now,
        scheduled=scheduled,
        notices=notices,
    )
    return {
        "page": parts.page,
        "status": parts.status,
        "components": parts.components,
        "incidents": parts.unresolved_incidents,
        "scheduled_maintenances": parts.maintenances_in("scheduled", "in_progress", "verifying"),
    }


def _notice_incident(
    notice: Notice,
    ctx: str,
    page_url: str,
    component: dict[str, Any],
    indicator: str,
) -> dict[str, Any]:
    status = "identified" if notice.is_open else "resolved"
    if notice.operation is not None:
        name = operation_heading(notice.operation)
    elif notice.scope is NoticeScope.HOST:
        name = f"Notice for every tenant on {notice.host}"
    else:
        name = f"Notice for {ctx}"
    impact = indicator if notice.is_open and indicator in {"major", "critical"} else "minor"
    return _record(
        f"{ctx}-n{notice.id}",
        name=name,
        status=status,
        impact=impact,
        posted=notice.posted_at,
        updated=notice.updated_at,
        started=notice.posted_at,
        resolved=notice.resolved_at,
        updates=_messages(notice, "identified", notice.body, notice.posted_at),
        page_url=page_url,
        component=component,
        transition=("operational", str(component["status"])),
    )


def _maintenances(
    windows: Sequence[Window],
    scheduled: Sequence[ScheduledOperation],
    notices: Sequence[Notice],
    tenant: Tenant,
    changes: Sequence[StateChange],
    page_url: str,
    component: dict[str, Any],
    now: datetime,
) -> list[dict[str, Any]]:
    ctx = tenant.context_identifier
    posted = {s.id: s.created_at for s in scheduled}
    by_scheduled = {n.scheduled_id: n for n in notices if n.scheduled_id is not None}
    # The notice of the window under way: the newest open one of a window operation.
    current = next(
        (n for n in notices if n.is_open and not n.is_planned and _is_maintenance(n)), None
    )
    found: list[dict[str, Any]] = []
    for window in windows:
        if window.scheduled_id is not None:
            notice = by_scheduled.get(window.scheduled_id)
            created = posted.get(window.scheduled_id, min(window.starts_at, now))
        else:
            notice = current
            created = window.starts_at if notice is None else notice.posted_at
        status = "in_progress" if window.in_progress else "scheduled"
        found.append(
            _maintenance(
                window.scheduled_id,
                title=_window_title(window.operation, window.scheduled_id, tenant, scheduled),
                status=status,
                api_usable=window.api_usable,
                starts_at=window.starts_at,
                ends_at=window.ends_at if window.ends_at is not None else _until(notice),
                created=created,
                notice=notice,
                ctx=ctx,
                page_url=page_url,
                component=component,
            )
        )
    # Windows finished lately: those whose message is still shown, from the history row
    # that opened them (among the recent changes).
    ran = {c.id: c.at for c in changes}
    for notice in notices:
        finished = notice.resolution is NoticeResolution.FINISHED
        started = ran.get(notice.history_id or 0)
        if not (finished and _is_maintenance(notice)) or started is None:
            continue
        found.append(
            _maintenance(
                notice.scheduled_id,
                title=operation_heading(notice.operation or ""),
                status="completed",
                api_usable=notice.operation == "maintenance-online",
                starts_at=started,
                ends_at=notice.resolved_at,
                created=notice.posted_at,
                notice=notice,
                ctx=ctx,
                page_url=page_url,
                component=component,
                key=f"n{notice.id}",
            )
        )
    return found


def _until(notice: Notice | None) -> datetime | None:
    return None if notice is None else notice.until


def _window_title(
    operation: str,
    scheduled_id: int | None,
    tenant: Tenant,
    scheduled: Sequence[ScheduledOperation],
) -> str:
    version: str | None = None
    if operation == "upgrade":
        if scheduled_id is None:
            version = tenant.pending_version_name
        else:
            found = next((s for s in scheduled if s.id == scheduled_id), None)
            version = None if found is None else found.parameters.get("VersionName")
    return operation_heading(operation, version)


def _maintenance(
    scheduled_id: int | None,
    *,
    title: str,
    status: str,
    api_usable: bool,
    starts_at: datetime,
    ends_at: datetime | None,
    created: datetime,
    notice: Notice | None,
    ctx: str,
    page_url: str,
    component: dict[str, Any],
    key: str | None = None,
) -> dict[str, Any]:
    key = key or (f"s{scheduled_id}" if scheduled_id is not None else "now")
    api = "the API stays usable" if api_usable else "the API is not usable meanwhile"
    record = _record(
        f"{ctx}-{key}",
        name=f"{title} of {ctx}",
        status=status,
        impact="maintenance",
        posted=created,
        updated=created if notice is None else max(created, notice.updated_at),
        started=starts_at,
        resolved=ends_at if status == "completed" else None,
        updates=_messages(notice, status, f"{title} of {ctx}; {api}.", created),
        page_url=page_url,
        component=component,
        transition=("operational", "under_maintenance"),
    )
    record["scheduled_for"] = statuspage_instant(starts_at)
    record["scheduled_until"] = statuspage_instant(ends_at)
    return record


_RESOLVED_TEXT = {
    NoticeResolution.RESOLVED: "Resolved.",
    NoticeResolution.FINISHED: "Finished.",
    NoticeResolution.CANCELLED: "Cancelled.",
    NoticeResolution.FAILED: "It did not run.",
}


def _messages(
    notice: Notice | None, status: str, fallback: str, at: datetime
) -> list[tuple[str, str, str, datetime]]:
    """(key, status, body, posted) per message, newest first: the first one, the updates,
    and the resolution."""
    if notice is None:
        return [("1", status, fallback, at)]
    found = [("1", status, notice.body, notice.posted_at)]
    found += [(f"u{u.id}", status, u.body, u.posted_at) for u in notice.updates]
    if notice.resolved_at is not None and notice.resolution is not None:
        done = "completed" if status in {"scheduled", "in_progress", "verifying"} else "resolved"
        found.append(("r", done, _RESOLVED_TEXT[notice.resolution], notice.resolved_at))
    return found[::-1]


def _record(
    record_id: str,
    *,
    name: str,
    status: str,
    impact: str,
    posted: datetime,
    updated: datetime,
    started: datetime,
    updates: Sequence[tuple[str, str, str, datetime]],
    page_url: str,
    component: Mapping[str, Any],
    transition: tuple[str, str],
    resolved: datetime | None = None,
) -> dict[str, Any]:
    """An incident or a maintenance, without the maintenance's own two fields."""
    return {
        "id": record_id,
        "name": name,
        "status": status,
        "created_at": statuspage_instant(posted),
        "updated_at": statuspage_instant(max(updated, *(u[3] for u in updates))),
        "monitoring_at": None,
        "resolved_at": statuspage_instant(resolved),
        "impact": impact,
        "shortlink": page_url,
        "started_at": statuspage_instant(started),
        "page_id": component["page_id"],
        "incident_updates": [
            _update(
                f"{record_id}-{key}",
                record_id,
                status=s,
                body=body,
                at=at,
                component=component,
                transition=transition,
            )
            for key, s, body, at in updates
        ],
        "components": [dict(component)],
    }


def _update(
    update_id: str,
    incident_id: str,
    *,
    status: str,
    body: str,
    at: datetime,
    component: Mapping[str, Any],
    transition: tuple[str, str],
) -> dict[str, Any]:
    stamp = statuspage_instant(at)
    return {
        "id": update_id,
        "status": status,
        "body": body,
        "incident_id": incident_id,
        "created_at": stamp,
        "updated_at": stamp,
        "display_at": stamp,
        "affected_components": [
            {
                "code": component["id"],
                "name": component["name"],
                "old_status": transition[0],
                "new_status": transition[1],
            }
        ],
        "deliver_notifications": False,
        "custom_tweet": None,
        "tweet_id": None,
    }
