"""The SQL side of the calendars: scheduled operations with their revision and message.

`CalendarSql` is mixed into `SqlStore`. A calendar is read on one connection in three
statements: the scheduled operations (pending, or finished since an instant:
`ix_scheduled_ctx_status` for one tenant), their tenants, and the notices written for
them with their updates (`ix_notices_scheduled`). `touch_schedule` raises the revision
that becomes an event's SEQUENCE, in the transaction of every change to a schedule.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from tenantstatus.lifecycle import Tenant
from tenantstatus.store.base import ScheduledOperation, ScheduleStatus
from tenantstatus.store.notice_records import Notice
from tenantstatus.store.notice_sql import calendar_notices
from tenantstatus.store.schema import scheduled_operations

__all__ = ["CalendarData", "CalendarSql", "touch_schedule"]


@dataclass(frozen=True, slots=True)
class CalendarData:
    """What a calendar reads: operations by (run_at, id), their tenants, their notices."""

    operations: Sequence[ScheduledOperation]
    tenants: Mapping[str, Tenant]
    notices: Sequence[Notice] = ()  # those of the operations, and of windows under way


async def touch_schedule(
    connection: AsyncConnection, context_identifier: str, scheduled_id: int | None = None
) -> None:
    """Raise the revision of the tenant's pending operations, and of `scheduled_id`.

    Any change to a tenant's schedule can move the end of its windows (a closer added
    or cancelled) or what can run, so every pending event of the tenant is raised; an
    over-raised SEQUENCE only makes a calendar re-read an event.
    """
    s = scheduled_operations
    touched = s.c.status == ScheduleStatus.PENDING.value
    if scheduled_id is not None:
        touched = sa.or_(touched, s.c.id == scheduled_id)
    await connection.execute(
        s.update()
        .where(s.c.context_identifier == context_identifier, touched)
        .values(revision=s.c.revision + 1)
    )


class CalendarSql:
    """Calendar reads; mixed into `SqlStore`, which provides the engine and tenant reads."""

    _engine: AsyncEngine
    _read_tenants: Callable[[AsyncConnection, Sequence[str]], Awaitable[dict[str, Tenant]]]
    _scheduled_of_row: Callable[[Any], ScheduledOperation]

    async def calendar_data(
        self,
        context_identifier: str | None,
        *,
        finished_since: datetime,
        limit: int,
        window_operations: Sequence[str] = (),
    ) -> CalendarData:
        """The operations of one tenant (or of every tenant, if None) that are pending or
        finished at or after `finished_since`, at most `limit`, soonest first, with the
        notices written for them and the open ones of `window_operations` that ran."""
        s = scheduled_operations
        query = (
            sa.select(s)
            .where(
                sa.or_(
                    s.c.status == ScheduleStatus.PENDING.value,
                    s.c.finished_at >= finished_since,
                )
            )
            .order_by(s.c.run_at, s.c.id)
            .limit(limit)
        )
        if context_identifier is not None:
            query = query.where(s.c.context_identifier == context_identifier)
        async with self._engine.connect() as connection:
            operations = [self._scheduled_of_row(row) for row in await connection.execute(query)]
            owners = sorted({o.context_identifier for o in operations} | (
                {context_identifier} if context_identifier is not None else set()
            ))  # fmt: skip
            tenants = await self._read_tenants(connection, owners)
            notices = await calendar_notices(
                connection, [o.id for o in operations], list(tenants), window_operations
            )
        return CalendarData(operations=operations, tenants=tenants, notices=notices)
