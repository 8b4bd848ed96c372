"""The SQL side of the status page: reads only, each one seeking an index.

`StatusSql` is mixed into `SqlStore`. Nothing here scans a table: the overview pages
through `tenants` by ContextIdentifier (the primary key, or `ix_tenants_state_ctx`
with a state filter), a tenant's window of history seeks `ix_history_ctx_at`
(migration 0003), and the feed of every tenant reads the newest history ids.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from tenantstatus.lifecycle import Tenant
from tenantstatus.model import TenantState
from tenantstatus.store.base import ScheduledOperation, ScheduleStatus
from tenantstatus.store.notice_records import Notice, endpoint_host
from tenantstatus.store.notice_sql import read_tenant_notices
from tenantstatus.store.schema import history, scheduled_operations, tenants
from tenantstatus.store.sqlite_reader import ReadsInOneTransaction
from tenantstatus.store.tenant_rows import select_tenant, tenant_from_row

__all__ = [
    "NOTICES_SHOWN",
    "RECENT_NOTICES",
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
# A tenant page shows open notices and those resolved within a week, at most 20.
RECENT_NOTICES = timedelta(days=7)
NOTICES_SHOWN = 20

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
    newest_id: int = 0
    # Per transition (before, then changes): scheduled ahead or carrying a message.
    announced: Sequence[bool] = ()

    @property
    def transitions(self) -> list[tuple[datetime, TenantState]]:
        """The state before the window (if any), then the transitions in it."""
        return ([] if self.before is None else [self.before]) + list(self.changes)


@dataclass(frozen=True, slots=True)
class TenantPageData:
    """What the tenant page reads in one go."""

    tenant: Tenant
    late_rows: int
    today: Sequence[tuple[datetime, TenantState]]
    scheduled: Sequence[ScheduledOperation]
    changes: Sequence[StateChange]
    # Per transition of `today`: scheduled ahead or carrying a message.
    today_announced: Sequence[bool] = ()
    # Open notices and those resolved within `RECENT_NOTICES`, newest first.
    notices: Sequence[Notice] = ()


def _instant(micros: int) -> datetime:
    # History instants read as raw integers: cheaper than the column type, row by row.
    return _EPOCH + timedelta(microseconds=int(micros))


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


@functools.cache
def _page_statement(with_known: bool) -> sa.CompoundSelect[Any]:
    """The tenant page's history and plan in one statement, built once per shape.

    Four reads told apart by `kind`: 0, how many rows lie above `known`, counted on
    ix_history_ctx_id alone (those not among today's were dated before today but
    written after the settled days were computed); 1, today's transitions
    (ix_history_ctx_at); 2, the `recent` newest changes; 3, the pending scheduled
    operations (ix_scheduled_ctx_status).
    """
    h, sched = history, scheduled_operations
    ctx = sa.bindparam("ctx", type_=sa.String)
    at = sa.type_coerce(h.c.at, sa.BigInteger)
    no_text = sa.cast(sa.null(), sa.Text)

    def shape(kind: int, *columns: Any) -> list[Any]:
        names = ("id", "operation", "at", "a", "b", "params", "by")
        return [sa.literal(kind).label("kind")] + [
            c.label(n) for c, n in zip(columns, names, strict=True)
        ]

    announced = sa.cast(h.c.announced, sa.Integer)
    history_shape = (h.c.id, h.c.operation, at, announced, h.c.to_state, no_text, no_text)
    parts: list[Any] = []
    if with_known:
        nothing = (
            sa.cast(sa.null(), sa.String),
            sa.cast(sa.null(), sa.BigInteger),
            sa.cast(sa.null(), sa.Integer),
            sa.cast(sa.null(), sa.SmallInteger),
        )
        parts.append(
            sa.select(*shape(0, sa.func.count(), *nothing, no_text, no_text)).where(
                h.c.context_identifier == ctx, h.c.id > sa.bindparam("known")
            )
        )  # fmt: skip
    parts.append(
        sa.select(*shape(1, *history_shape)).where(
            h.c.context_identifier == ctx, h.c.at >= sa.bindparam("checkpoint")
        )
    )
    newest = (
        sa.select(*shape(2, h.c.id, h.c.operation, at, h.c.from_state, h.c.to_state,
                         no_text, no_text))
        .where(h.c.context_identifier == ctx)
        .order_by(h.c.id.desc())
        .limit(sa.bindparam("recent", type_=sa.Integer))
        .subquery()
    )  # fmt: skip
    parts.append(sa.select(newest))
    # No ORDER BY here: sorting by run_at would tempt SQLite to walk every pending
    # operation of every tenant (ix_scheduled_status_run_at); the caller sorts.
    parts.append(
        sa.select(*shape(3, sched.c.id, sched.c.operation,
                         sa.type_coerce(sched.c.run_at, sa.BigInteger),
                         sa.type_coerce(sched.c.created_at, sa.BigInteger),
                         sa.cast(sa.null(), sa.SmallInteger),
                         sched.c.parameters, sched.c.created_by))
        .where(
            sched.c.context_identifier == ctx,
            sched.c.status == ScheduleStatus.PENDING.value,
        )
    )  # fmt: skip
    return sa.union_all(*parts)


def _read_page_data(
    connection: sa.Connection,
    context_identifier: str,
    checkpoint: datetime,
    known_id: int | None,
    recent: int,
) -> TenantPageData | None:
    statement = _page_statement(known_id is not None)
    parameters = {
        "ctx": context_identifier,
        "checkpoint": checkpoint,
        "known": known_id if known_id is not None else 0,
        "recent": recent,
    }
    found = connection.execute(select_tenant(context_identifier)).first()
    if found is None:
        return None
    tenant = tenant_from_row(found)
    rows = connection.execute(statement, parameters).all()
    notices = read_tenant_notices(
        connection,
        context_identifier,
        endpoint_host(tenant.endpoint),
        resolved_since=checkpoint - RECENT_NOTICES,
        limit=NOTICES_SHOWN,
    )
    above_known = 0
    today: list[Any] = []
    changes: list[StateChange] = []
    scheduled: list[ScheduledOperation] = []
    for row in rows:
        if row.kind == 0:
            above_known = row.id
        elif row.kind == 1:
            today.append(row)
        elif row.kind == 2:
            changes.append(
                StateChange(
                    id=row.id,
                    context_identifier=context_identifier,
                    operation=row.operation,
                    at=_instant(row.at),
                    from_state=None if row.a is None else TenantState(row.a),
                    to_state=TenantState(row.b),
                )
            )
        else:
            scheduled.append(
                ScheduledOperation(
                    id=row.id,
                    context_identifier=context_identifier,
                    operation=row.operation,
                    parameters=json.loads(row.params),
                    run_at=_instant(row.at),
                    status=ScheduleStatus.PENDING,
                    created_by=row.by,
                    created_at=_instant(row.a),
                )
            )
    today.sort(key=lambda row: (row.at, row.id))
    late = 0
    if known_id is not None:
        late = above_known - sum(row.id > known_id for row in today)
    changes.sort(key=lambda change: change.id, reverse=True)
    scheduled.sort(key=lambda operation: (operation.run_at, operation.id))
    return TenantPageData(
        tenant=tenant,
        late_rows=late,
        today=[(_instant(row.at), TenantState(row.b)) for row in today],
        scheduled=scheduled,
        changes=changes,
        today_announced=[bool(row.a) for row in today],
        notices=notices,
    )


class StatusSql(ReadsInOneTransaction):
    """Status page reads; mixed into `SqlStore`, which provides the engine."""

    async def state_window(
        self, context_identifier: str, since: datetime, until: datetime | None = None
    ) -> StateWindow:
        """The tenant's state just before `since` and its transitions in [since, until)."""
        ctx = history.c.context_identifier
        at = sa.type_coerce(history.c.at, sa.BigInteger)
        announced = history.c.announced
        before = (
            sa.select(at, history.c.to_state, announced)
            .where(ctx == context_identifier, history.c.at < since)
            .order_by(history.c.at.desc(), history.c.id.desc())
            .limit(1)
        )
        window = (
            sa.select(at, history.c.to_state, announced)
            .where(ctx == context_identifier, history.c.at >= since)
            .order_by(history.c.at, history.c.id)
        )
        if until is not None:
            window = window.where(history.c.at < until)
        newest = sa.select(sa.func.max(history.c.id)).where(ctx == context_identifier)
        async with self._engine.connect() as connection:
            # The newest id first: a row written while the window is read has a higher id.
            newest_id = await connection.scalar(newest)
            first = (await connection.execute(before)).first()
            rows = (await connection.execute(window)).all()
        return StateWindow(
            before=None if first is None else (_instant(first[0]), TenantState(first[1])),
            changes=[(_instant(row[0]), TenantState(row[1])) for row in rows],
            newest_id=int(newest_id or 0),
            announced=[bool(row[2]) for row in [*([] if first is None else [first]), *rows]],
        )

    async def tenant_page_data(
        self,
        context_identifier: str,
        *,
        checkpoint: datetime,
        known_id: int | None,
        recent: int,
    ) -> TenantPageData | None:
        """Everything the tenant page reads, in one transaction: the tenant, how many
        rows above `known_id` were written before `checkpoint` (after the fact), the
        transitions from `checkpoint` on, its pending scheduled operations, its `recent`
        newest changes and its notices."""
        return await self._read(
            lambda connection: _read_page_data(
                connection, context_identifier, checkpoint, known_id, recent
            )
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
