"""The SQL side of the status page: reads only, each one seeking an index.

`StatusSql` is mixed into `SqlStore`. Nothing here scans a table: the overview pages
through `tenants` by ContextIdentifier (the primary key, or `ix_tenants_state_ctx`
with a state filter), a tenant's window of history seeks `ix_history_ctx_at`
(migration 0003), and the feed of every tenant reads the newest history ids.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from tenantstatus.lifecycle import Tenant
from tenantstatus.model import TenantState
from tenantstatus.store.base import ScheduledOperation, ScheduleStatus
from tenantstatus.store.schema import history, scheduled_operations, tenants

__all__ = [
    "StateChange",
    "StateWindow",
    "StatusSql",
    "TenantListing",
    "TenantPage",
    "TenantPageData",
]


@dataclass(frozen=True, slots=True)
class TenantListing:
    """One row of the overview: just what the list shows."""

    context_identifier: str
    state: TenantState
    state_since: datetime
    version_name: str


@dataclass(frozen=True, slots=True)
class TenantPage:
    """A page of the overview, in ContextIdentifier order, with its neighbours."""

    tenants: Sequence[TenantListing]
    has_previous: bool
    has_next: bool


@dataclass(frozen=True, slots=True)
class StateChange:
    """A history row as the status page needs it."""

    id: int
    context_identifier: str
    operation: str
    at: datetime
    from_state: TenantState | None
    to_state: TenantState


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

_CHANGE_COLUMNS = (
    history.c.id,
    history.c.context_identifier,
    history.c.operation,
    history.c.at,
    history.c.from_state,
    history.c.to_state,
)


@dataclass(frozen=True, slots=True)
class StateWindow:
    """A tenant's state just before a window, and its transitions in the window."""

    before: tuple[datetime, TenantState] | None
    changes: Sequence[tuple[datetime, TenantState]]

    @property
    def transitions(self) -> list[tuple[datetime, TenantState]]:
        """The state before the window (if any), then the transitions in it."""
        return ([] if self.before is None else [self.before]) + list(self.changes)


@dataclass(frozen=True, slots=True)
class TenantPageData:
    """What the tenant page reads in one go."""

    tenant: Tenant
    settled_rows: int
    today: Sequence[tuple[datetime, TenantState]]
    scheduled: Sequence[ScheduledOperation]
    changes: Sequence[StateChange]


def _instant(micros: int) -> datetime:
    # History instants read as raw integers: cheaper than the column type, row by row.
    return _EPOCH + timedelta(microseconds=int(micros))


def _scheduled(row: Any) -> ScheduledOperation:
    return ScheduledOperation(
        id=row.id,
        context_identifier=row.context_identifier,
        operation=row.operation,
        parameters=json.loads(row.parameters),
        run_at=row.run_at,
        status=ScheduleStatus(row.status),
        created_by=row.created_by,
        created_at=row.created_at,
        finished_at=row.finished_at,
        error=row.error,
    )


def _change(row: Any) -> StateChange:
    return StateChange(
        id=row.id,
        context_identifier=row.context_identifier,
        operation=row.operation,
        at=row.at,
        from_state=None if row.from_state is None else TenantState(row.from_state),
        to_state=TenantState(row.to_state),
    )


def _prefix_bounds(prefix: str) -> tuple[str, str]:
    """[low, high) of the identifiers that start with `prefix`, in byte order."""
    return prefix, prefix[:-1] + chr(ord(prefix[-1]) + 1)


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


class StatusSql:
    """Status page reads; mixed into `SqlStore`, which provides the engine."""

    _engine: AsyncEngine
    _read_tenant: Callable[..., Awaitable[Tenant | None]]

    async def state_window(
        self, context_identifier: str, since: datetime, until: datetime | None = None
    ) -> StateWindow:
        """The tenant's state just before `since` and its transitions in [since, until)."""
        ctx = history.c.context_identifier
        at = sa.type_coerce(history.c.at, sa.BigInteger)
        before = (
            sa.select(at, history.c.to_state)
            .where(ctx == context_identifier, history.c.at < since)
            .order_by(history.c.at.desc(), history.c.id.desc())
            .limit(1)
        )
        window = (
            sa.select(at, history.c.to_state)
            .where(ctx == context_identifier, history.c.at >= since)
            .order_by(history.c.at, history.c.id)
        )
        if until is not None:
            window = window.where(history.c.at < until)
        async with self._engine.connect() as connection:
            first = (await connection.execute(before)).first()
            rows = (await connection.execute(window)).all()
        return StateWindow(
            before=None if first is None else (_instant(first[0]), TenantState(first[1])),
            changes=[(_instant(row[0]), TenantState(row[1])) for row in rows],
        )

    async def tenant_page_data(
        self, context_identifier: str, *, since: datetime, checkpoint: datetime, recent: int
    ) -> TenantPageData | None:
        """Everything the tenant page reads, on one connection: the tenant, how many
        history rows lie in [since, checkpoint), the transitions from `checkpoint` on,
        its pending scheduled operations and its `recent` newest changes."""
        ctx = history.c.context_identifier
        at = sa.type_coerce(history.c.at, sa.BigInteger)
        # One round trip: the count of settled rows (at -1), then today's transitions.
        settled = sa.select(
            sa.literal(-1, sa.BigInteger).label("at"),
            sa.func.count().label("to_state"),
            sa.literal(0, sa.BigInteger).label("id"),
        ).where(ctx == context_identifier, history.c.at >= since, history.c.at < checkpoint)
        today = sa.select(at.label("at"), history.c.to_state, history.c.id).where(
            ctx == context_identifier, history.c.at >= checkpoint
        )
        counted = sa.union_all(settled, today).subquery()
        settled_and_today = sa.select(counted).order_by(counted.c.at, counted.c.id)
        pending = (
            sa.select(scheduled_operations)
            .where(
                scheduled_operations.c.context_identifier == context_identifier,
                scheduled_operations.c.status == ScheduleStatus.PENDING.value,
            )
            .order_by(scheduled_operations.c.run_at, scheduled_operations.c.id)
            .limit(100)
        )
        changes = (
            sa.select(*_CHANGE_COLUMNS)
            .where(ctx == context_identifier)
            .order_by(history.c.id.desc())
            .limit(recent)
        )
        async with self._engine.connect() as connection:
            tenant = await self._read_tenant(connection, context_identifier)
            if tenant is None:
                return None
            count, *today_rows = (await connection.execute(settled_and_today)).all()
            pending_rows = (await connection.execute(pending)).all()
            change_rows = (await connection.execute(changes)).all()
        return TenantPageData(
            tenant=tenant,
            settled_rows=int(count[1]),
            today=[(_instant(row[0]), TenantState(row[1])) for row in today_rows],
            scheduled=[_scheduled(row) for row in pending_rows],
            changes=[_change(row) for row in change_rows],
        )

    async def recent_changes(
        self, *, context_identifier: str | None = None, limit: int = 50
    ) -> list[StateChange]:
        """The newest history rows, newest first: of one tenant, or of every tenant."""
        query = sa.select(*_CHANGE_COLUMNS).order_by(history.c.id.desc()).limit(limit)
        if context_identifier is not None:
            query = query.where(history.c.context_identifier == context_identifier)
        async with self._engine.connect() as connection:
            return [_change(row) for row in await connection.execute(query)]

    async def tenant_page(
        self,
        *,
        state: TenantState | None = None,
        prefix: str | None = None,
        after: str | None = None,
        before: str | None = None,
        limit: int = 50,
    ) -> TenantPage:
        """A page of tenants in ContextIdentifier order (keyset pagination).

        `prefix` keeps identifiers that start with it (case-sensitive, as identifiers
        are); `after` pages forward from an identifier, `before` backward.
        """
        ctx = tenants.c.context_identifier
        query = sa.select(ctx, tenants.c.state, tenants.c.state_since, tenants.c.version_name)
        if state is not None:
            query = query.where(tenants.c.state == int(state))
        if prefix:
            low, high = _prefix_bounds(prefix)
            # The range seeks the index; LIKE keeps the answer right under collations
            # that do not sort by bytes (it only filters what the range found).
            query = query.where(
                ctx >= low, ctx < high, ctx.like(_escape_like(prefix) + "%", escape="\\")
            )
        backward = before is not None and after is None
        if backward:
            query = query.where(ctx < before).order_by(ctx.desc())
        else:
            if after is not None:
                query = query.where(ctx > after)
            query = query.order_by(ctx)
        query = query.limit(limit + 1)
        async with self._engine.connect() as connection:
            rows = list((await connection.execute(query)).all())
        more = len(rows) > limit
        rows = rows[:limit]
        if backward:
            rows.reverse()
        listings = [
            TenantListing(
                context_identifier=row.context_identifier,
                state=TenantState(row.state),
                state_since=row.state_since,
                version_name=row.version_name,
            )
            for row in rows
        ]
        if backward:
            return TenantPage(listings, has_previous=more, has_next=True)
        return TenantPage(listings, has_previous=after is not None, has_next=more)
