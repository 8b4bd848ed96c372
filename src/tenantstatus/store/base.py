"""The store interface every backend implements, and the records it returns."""

from __future__ import annotations

import enum
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from tenantstatus.lifecycle import Outcome, Tenant
from tenantstatus.model import ChangeType, TenantState
from tenantstatus.store.push_records import Application, Delivery, DeliveryOutcome

__all__ = [
    "HistoryEntry",
    "ImportResult",
    "Outbox",
    "ScheduleNotPending",
    "ScheduleStatus",
    "ScheduledOperation",
    "Store",
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


@dataclass(frozen=True, slots=True)
class ImportResult:
    """What a bulk import did."""

    created: int
    skipped: int


class Store(Protocol):
    """Persistence for tenants, their history and scheduled operations.

    Every method is atomic. `commit_operation` is the one place where a lifecycle
    decision and its records are written together.
    """

    async def open(self) -> None:
        """Connect and bring the schema to the newest migration."""

    async def close(self) -> None:
        """Release every connection."""

    async def ping(self) -> None:
        """Raise `StoreUnavailable` unless the database answers."""

    async def get_tenant(self, context_identifier: str) -> Tenant | None:
        """The tenant, or None."""

    async def commit_operation(
        self,
        context_identifier: str,
        decide: Callable[[Tenant | None], Outcome],
        *,
        actor: str,
        at: datetime,
        detail: Mapping[str, Any] | None = None,
        scheduled_id: int | None = None,
    ) -> tuple[Outcome, HistoryEntry]:
        """Read the tenant, let `decide` run the lifecycle, write tenant and history at once.

        With `scheduled_id`, that scheduled operation is marked done in the same
        transaction, and nothing happens unless it was still pending.
        """

    async def import_tenants(
        self, new_tenants: Sequence[Tenant], *, actor: str, at: datetime
    ) -> ImportResult:
        """Create tenants that do not exist yet; existing ones are skipped, not changed."""

    async def list_tenants(
        self, *, state: TenantState | None = None, after: str | None = None, limit: int = 100
    ) -> list[Tenant]:
        """A page of tenants ordered by ContextIdentifier, starting after `after`."""

    async def count_by_state(self) -> dict[TenantState, int]:
        """How many tenants are in each state."""

    async def history(self, context_identifier: str, *, limit: int = 100) -> list[HistoryEntry]:
        """The tenant's most recent history, newest first."""

    def stream_tenants(self, *, batch_size: int = 10_000) -> AsyncIterator[list[Tenant]]:
        """Every tenant, in batches; for loading the state cache."""

    def stream_summaries(
        self, *, batch_size: int = 50_000
    ) -> AsyncIterator[list[tuple[str, str, int, str]]]:
        """(ContextIdentifier, Endpoint, state code, version document JSON) of every tenant."""

    async def current_revision(self) -> int:
        """The highest tenant revision committed so far."""

    async def changed_since(
        self, revision: int, *, limit: int = 10_000
    ) -> list[tuple[int, Tenant]]:
        """Tenants whose revision is above `revision`, oldest change first."""

    async def schedule_operation(
        self,
        context_identifier: str,
        operation: str,
        parameters: Mapping[str, Any],
        *,
        run_at: datetime,
        actor: str,
        at: datetime,
    ) -> ScheduledOperation:
        """Record an operation to run at `run_at`."""

    async def get_scheduled(self, scheduled_id: int) -> ScheduledOperation | None:
        """One scheduled operation, or None."""

    async def list_scheduled(
        self,
        *,
        context_identifier: str | None = None,
        status: ScheduleStatus | None = ScheduleStatus.PENDING,
        limit: int = 100,
    ) -> list[ScheduledOperation]:
        """Scheduled operations, soonest first."""

    async def cancel_scheduled(
        self, scheduled_id: int, *, at: datetime
    ) -> ScheduledOperation | None:
        """Cancel a pending operation; None when there is no such pending operation."""

    async def due_scheduled(self, now: datetime, *, limit: int = 100) -> list[ScheduledOperation]:
        """Pending operations whose instant has come, oldest first."""

    async def fail_scheduled(self, scheduled_id: int, *, error: str, at: datetime) -> None:
        """Mark a pending operation failed with the reason."""

    async def next_scheduled(self) -> dict[str, datetime]:
        """The earliest pending instant per tenant."""

    async def get_setting(self, key: str) -> str | None:
        """A service setting, or None."""

    async def put_setting_if_absent(self, key: str, value: str) -> str:
        """Store `value` unless the key exists; return the stored value."""


class Outbox(Protocol):
    """What the dispatcher needs of a store: claims, outcomes, depth and recipients.

    `SqlStore` implements it on both backends; a test may give the dispatcher anything
    that does.
    """

    async def claim_deliveries(
        self, now: datetime, *, limit: int, lease: timedelta
    ) -> list[Delivery]:
        """Lease due deliveries whose earlier ones for the same pair are done or dead."""
        ...

    async def record_outcomes(self, outcomes: Sequence[DeliveryOutcome]) -> None:
        """Write the attempts and the deliveries' new status, in one transaction."""
        ...

    async def outbox_depth(self) -> int:
        """How many deliveries are pending."""
        ...

    async def get_application(self, application_id: str) -> Application | None:
        """One application, or None if it no longer exists."""
        ...
