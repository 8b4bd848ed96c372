"""Maintenance windows from the schedule: which planned operation opens one, which ends it.

Pure: it takes the pending scheduled operations and the tenant's current state and
returns the windows in order, the one in progress (if any) first.

    >>> plan_windows(pending, tenant, now=now)[0].operation
    'upgrade'
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType

from tenantstatus.lifecycle import Activity, InvalidOperation, Tenant, TransitionRefused, apply
from tenantstatus.model import TenantState
from tenantstatus.service.tenants.operations import request_from
from tenantstatus.store import ScheduledOperation, ScheduleStatus

__all__ = ["WINDOW_TITLES", "Window", "plan_windows", "runnable"]

# Operations that open a window, with what a person calls the window.
WINDOW_TITLES = MappingProxyType(
    {
        "upgrade": "Upgrade",
        "restore": "Restore from backup",
        "maintenance-offline": "Offline maintenance",
        "maintenance-online": "Online maintenance",
    }
)
_CLOSERS = frozenset({"upgrade-done", "restore-done", "maintenance-done", "resume"})
_MAINTENANCE = frozenset({TenantState.OfflineMaintenance, TenantState.OnlineMaintenance})


@dataclass(frozen=True, slots=True)
class Window:
    """A maintenance window: in progress now, or planned."""

    operation: str
    starts_at: datetime
    ends_at: datetime | None
    in_progress: bool
    api_usable: bool
    scheduled_id: int | None = None

    @property
    def title(self) -> str:
        """What a person calls it: "Upgrade", "Offline maintenance", ..."""
        return WINDOW_TITLES.get(self.operation, self.operation)


def _current_operation(tenant: Tenant) -> str:
    if tenant.activity is Activity.UPGRADING:
        return "upgrade"
    if tenant.activity is Activity.RESTORING:
        return "restore"
    if tenant.state is TenantState.OnlineMaintenance:
        return "maintenance-online"
    return "maintenance-offline"


def plan_windows(
    scheduled: Sequence[ScheduledOperation], tenant: Tenant, *, now: datetime
) -> list[Window]:
    """The tenant's maintenance windows: the one under way, then the planned ones.

    A window opens with an upgrade, a restore or a maintenance operation and ends
    with the next operation that finishes it; a window with no planned end has
    `ends_at` None.
    """
    pending = sorted(
        (s for s in scheduled if s.status is ScheduleStatus.PENDING),
        key=lambda s: (s.run_at, s.id),
    )
    windows: list[Window] = []
    current: Window | None = None
    if tenant.state in _MAINTENANCE:
        current = Window(
            operation=_current_operation(tenant),
            starts_at=tenant.state_since,
            ends_at=None,
            in_progress=True,
            api_usable=tenant.state.is_running,
        )
    for operation in pending:
        if current is not None and operation.operation in _CLOSERS:
            windows.append(
                Window(
                    current.operation,
                    current.starts_at,
                    operation.run_at,
                    current.in_progress,
                    current.api_usable,
                    current.scheduled_id,
                )
            )
            current = None
        elif current is None and operation.operation in WINDOW_TITLES:
            current = Window(
                operation=operation.operation,
                starts_at=operation.run_at,
                ends_at=None,
                in_progress=operation.run_at <= now,
                api_usable=operation.operation == "maintenance-online",
                scheduled_id=operation.id,
            )
    if current is not None:
        windows.append(current)
    return windows


def runnable(scheduled: Sequence[ScheduledOperation], tenant: Tenant) -> list[ScheduledOperation]:
    """The pending operations that can run, each from the state the ones before leave.

    The lifecycle is played forward in order, so a suspended tenant's planned
    maintenance (refused from Suspended) is not advertised, while a planned resume and
    the maintenance after it are.
    """
    pending = sorted(
        (s for s in scheduled if s.status is ScheduleStatus.PENDING),
        key=lambda s: (s.run_at, s.id),
    )
    current, kept = tenant, []
    for operation in pending:
        try:
            request = request_from(operation.operation, operation.parameters)
            outcome = apply(tenant.context_identifier, current, request, now=operation.run_at)
        except (InvalidOperation, TransitionRefused):
            continue
        current = outcome.tenant
        kept.append(operation)
    return kept
