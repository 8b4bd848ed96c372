"""One tenant's status in the shape of Statuspage's v2 `summary.json`.

Tools that read a Statuspage page (dashboards, chat bots, uptime monitors) read
this: `page`, `status` (indicator and description), `components` (one: the
tenant), unresolved `incidents` (the tenant is Unknown or a step failed) and
`scheduled_maintenances` (the window under way and the planned ones). Pure: it
takes values and returns a JSON-ready dict.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from tenantstatus.lifecycle import Tenant
from tenantstatus.model import TenantState
from tenantstatus.service.status.planning import Window
from tenantstatus.service.status.states import ComponentStatus, describe
from tenantstatus.store.status_sql import StateChange

__all__ = ["statuspage_instant", "summary_document"]

_INCIDENT_STATES = frozenset(
    {TenantState.Unknown, TenantState.ProvisioningFailed, TenantState.DeleteFailed}
)


def statuspage_instant(instant: datetime | None) -> str | None:
    """Statuspage's timestamp format, in UTC: `2026-11-25T21:04:05.123Z`."""
    if instant is None:
        return None
    utc = instant.astimezone(UTC)
    return f"{utc:%Y-%m-%dT%H:%M:%S}.{utc.microsecond // 1000:03d}Z"


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


def summary_document(
    tenant: Tenant,
    *,
    page_url: str,
    windows: Sequence[Window],
    changes: Sequence[StateChange],
    now: datetime,
) -> dict[str, Any]:
    """The summary for `tenant`; `changes` are its recent history rows, newest first."""
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
    incidents: list[dict[str, Any]] = []
    if tenant.state in _INCIDENT_STATES:
        began = _since_change(tenant, changes)
        incident_id = f"{ctx}-h{began.id}" if began is not None else f"{ctx}-now"
        incidents.append(
            _incident(
                incident_id,
                name=f"{ctx}: {description.label}",
                status="investigating" if tenant.state is TenantState.Unknown else "identified",
                impact=indicator,
                body=description.meaning,
                started=tenant.state_since,
                page_url=page_url,
                component=component,
                ctx=ctx,
                old_status=None
                if began is None or began.from_state is None
                else str(describe(began.from_state).component_status),
            )
        )
    maintenances = [
        _maintenance(window, ctx=ctx, page_url=page_url, component=component, now=now)
        for window in windows
    ]
    return {
        "page": {
            "id": ctx,
            "name": f"{ctx} status",
            "url": page_url,
            "time_zone": "Etc/UTC",
            "updated_at": statuspage_instant(updated),
        },
        "status": {"indicator": indicator, "description": status_text},
        "components": [component],
        "incidents": incidents,
        "scheduled_maintenances": maintenances,
    }


def _update(
    update_id: str,
    incident_id: str,
    *,
    status: str,
    body: str,
    at: datetime,
    ctx: str,
    old_status: str | None,
    new_status: str,
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
                "code": ctx,
                "name": ctx,
                "old_status": old_status or "operational",
                "new_status": new_status,
            }
        ],
        "deliver_notifications": False,
        "custom_tweet": None,
        "tweet_id": None,
    }


def _incident(
    incident_id: str,
    *,
    name: str,
    status: str,
    impact: str,
    body: str,
    started: datetime,
    page_url: str,
    component: dict[str, Any],
    ctx: str,
    old_status: str | None,
) -> dict[str, Any]:
    stamp = statuspage_instant(started)
    return {
        "id": incident_id,
        "name": name,
        "status": status,
        "created_at": stamp,
        "updated_at": stamp,
        "monitoring_at": None,
        "resolved_at": None,
        "impact": impact,
        "shortlink": page_url,
        "started_at": stamp,
        "page_id": ctx,
        "incident_updates": [
            _update(
                f"{incident_id}-1",
                incident_id,
                status=status,
                body=body,
                at=started,
                ctx=ctx,
                old_status=old_status,
                new_status=str(component["status"]),
            )
        ],
        "components": [component],
    }


def _maintenance(
    window: Window, *, ctx: str, page_url: str, component: dict[str, Any], now: datetime
) -> dict[str, Any]:
    key = f"s{window.scheduled_id}" if window.scheduled_id is not None else "now"
    maintenance_id = f"{ctx}-{key}"
    status = "in_progress" if window.in_progress else "scheduled"
    api = "the API stays usable" if window.api_usable else "the API is not usable meanwhile"
    body = f"{window.title} of {ctx}; {api}."
    stamp = statuspage_instant(window.starts_at)
    return {
        "id": maintenance_id,
        "name": f"{window.title} of {ctx}",
        "status": status,
        "created_at": stamp,
        "updated_at": stamp,
        "monitoring_at": None,
        "resolved_at": None,
        "impact": "maintenance",
        "shortlink": page_url,
        "started_at": stamp,
        "page_id": ctx,
        "incident_updates": [
            _update(
                f"{maintenance_id}-1",
                maintenance_id,
                status=status,
                body=body,
                at=min(window.starts_at, now),
                ctx=ctx,
                old_status="operational",
                new_status="under_maintenance",
            )
        ],
        "components": [component],
        "scheduled_for": stamp,
        "scheduled_until": statuspage_instant(window.ends_at),
    }
