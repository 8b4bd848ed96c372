"""The SQL side of the status page: reads only, each one seeking an index.

`StatusSql` is mixed into `SqlStore`. Nothing here scans a table: the overview pages
through `tenants` by ContextIdentifier (the primary key, or `ix_tenants_state_ctx`
with a state filter), a tenant's window of history seeks `ix_history_ctx_at`
(migration 0003), and the feed of every tenant reads the newest history ids.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from tenantstatus.model import TenantState
from tenantstatus.store.schema import history, tenants

__all__ = ["StateChange", "StatusSql", "TenantListing", "TenantPage"]


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


_CHANGE_COLUMNS = (
    history.c.id,
    history.c.context_identifier,
    history.c.operation,
    history.c.at,
    history.c.from_state,
    history.c.to_state,
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

    async def state_window(
        self, context_identifier: str, since: datetime
    ) -> list[tuple[datetime, TenantState]]:
        """The tenant's transitions (instant, new state) from `since` on, in order,
        preceded by the last one before `since`, which gives the state at `since`."""
        ctx = history.c.context_identifier
        before = (
            sa.select(history.c.at, history.c.to_state, history.c.id)
            .where(ctx == context_identifier, history.c.at < since)
            .order_by(history.c.at.desc(), history.c.id.desc())
            .limit(1)
        )
        window = (
            sa.select(history.c.at, history.c.to_state, history.c.id)
            .where(ctx == context_identifier, history.c.at >= since)
            .order_by(history.c.at, history.c.id)
        )
        async with self._engine.connect() as connection:
            first = (await connection.execute(before)).first()
            rows = (await connection.execute(window)).all()
        found = [] if first is None else [(first.at, TenantState(first.to_state))]
        found.extend((row.at, TenantState(row.to_state)) for row in rows)
        return found

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
