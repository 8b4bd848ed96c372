"""The records the store returns, and the exceptions it raises."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from tenantstatus.model import ChangeType, TenantState

__all__ = [
    "HistoryEntry",
    "ImportResult",
    "ScheduleNotPending",
    "ScheduleStatus",
    "ScheduledOperation",
    "StoreUnavailable",
]


class StoreUnavailable(Exception):
    """The database cannot be reached or refused the work; the operation did not happen."""


class ScheduleNotPending(Exception):
    """The scheduled operation was cancelled or run elsewhere; nothing was written."""

    def __init__(self, scheduled_id: int) -> None:
        super().__init__(f"scheduled operation {scheduled_id} is no longer pending")
        self.scheduled_id = scheduled_id


class ScheduleStatus(enum.StrEnum):
    """Where a scheduled operation is in its life."""

    PENDING = "pending"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    """One committed operation on one tenant."""

    id: int
    context_identifier: str
    operation: str
    actor: str
    at: datetime
    from_state: TenantState | None
    to_state: TenantState
    change_type: ChangeType | None
    detail: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ScheduledOperation:
    """An operation waiting for its instant, or what became of it."""

    id: int
    context_identifier: str
    operation: str
    parameters: Mapping[str, Any]
    run_at: datetime
    status: ScheduleStatus
    created_by: str
    created_at: datetime
    finished_at: datetime | None = None
    error: str | None = None
    # Raised on every change to its tenant's schedule (the calendar's SEQUENCE).
    revision: int = 0


@dataclass(frozen=True, slots=True)
class ImportResult:
    """What a bulk import did."""

    created: int
    skipped: int
