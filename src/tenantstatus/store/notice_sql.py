"""The SQL side of notices: post, update, resolve, and read them for one tenant.

`NoticeSql` is mixed into `SqlStore`. A tenant's notices are found by three index
seeks, none of which grows with the number of tenants a notice covers: its own
(`ix_notices_ctx`), its Endpoint host's (`ix_notices_host`) and the lists naming it
(`ix_notice_tenants_ctx`). The operation notices are written by `commit_operation`,
in the operation's own transaction (`operation_notices`).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from tenantstatus.model import TenantState
from tenantstatus.store.notice_records import (
    Notice,
    NoticeDraft,
    NoticeResolution,
    NoticeScope,
    NoticeUpdate,
    endpoint_host,
)
from tenantstatus.store.schema import history, notice_tenants, notice_updates, notices, tenants

__all__ = [
    "MAX_LISTED_TENANTS",
    "MAX_NOTICE_UPDATES",
    "NoticeSql",
    "calendar_notices",
    "operation_notices",
    "read_tenant_notices",
]

MAX_LISTED_TENANTS = 10_000
MAX_NOTICE_UPDATES = 200


def _notice(row: Any, updates: Sequence[NoticeUpdate] = (), listed: Sequence[str] = ()) -> Notice:
    return Notice(
        id=row.id,
        scope=NoticeScope(row.scope),
        body=row.body,
        posted_at=row.posted_at,
        posted_by=row.posted_by,
        updated_at=row.updated_at,
        until=row.expected_end,
        resolved_at=row.resolved_at,
        resolution=None if row.resolution is None else NoticeResolution(row.resolution),
        context_identifier=row.context_identifier,
        host=row.host,
        context_identifiers=tuple(listed),
        operation=row.operation,
        scheduled_id=row.scheduled_id,
        history_id=row.history_id,
        updates=tuple(updates),
    )


@functools.cache
def _updates_statement() -> sa.Select[Any]:
    return (
        sa.select(notice_updates)
        .where(notice_updates.c.notice_id.in_(sa.bindparam("ids", expanding=True)))
        .order_by(notice_updates.c.notice_id, notice_updates.c.id)
    )


def _updates_of(connection: sa.Connection, ids: Sequence[int]) -> dict[int, list[NoticeUpdate]]:
    found: dict[int, list[NoticeUpdate]] = {i: [] for i in ids}
    if not ids:
        return found
    for row in connection.execute(_updates_statement(), {"ids": list(ids)}):
        found[row.notice_id].append(
            NoticeUpdate(id=row.id, body=row.body, posted_at=row.posted_at, posted_by=row.posted_by)
        )
    return found


async def calendar_notices(
    connection: AsyncConnection,
    scheduled_ids: Sequence[int],
    context_identifiers: Sequence[str],
    operations: Sequence[str],
) -> list[Notice]:
    """The notices written for `scheduled_ids`, and the open notices of `operations` that
    ran on `context_identifiers` (a window under way), each with its updates, by id."""
    n = notices
    found = []
    if scheduled_ids:
        found.append(sa.select(n).where(n.c.scheduled_id.in_(list(scheduled_ids))))
    if context_identifiers:
        found.append(
            sa.select(n).where(
                n.c.context_identifier.in_(list(context_identifiers)),
                n.c.resolved_at.is_(None),
                n.c.history_id.is_not(None),
                n.c.operation.in_(list(operations)),
            )
        )
    if not found:
        return []
    statement = sa.union(*found).subquery()
    rows = list(await connection.execute(sa.select(statement).order_by(statement.c.id)))
    updates = await connection.run_sync(_updates_of, [row.id for row in rows])
    return [_notice(row, updates[row.id]) for row in rows]


@functools.cache
def _tenant_notices_statement(by_host: bool, resolved_since: bool) -> sa.CompoundSelect[Any]:
    """The union of a tenant's three index seeks, built once per shape: building it
    per request cost about a tenth of the tenant page."""
    n = notices
    limit = sa.bindparam("limit", type_=sa.Integer)

    def current(query: sa.Select[Any], newest: Any = n.c.id) -> sa.Select[Any]:
        if resolved_since:
            query = query.where(
                sa.or_(n.c.resolved_at.is_(None), n.c.resolved_at >= sa.bindparam("since"))
            )
        return query.order_by(newest.desc()).limit(limit)

    parts = [current(sa.select(n).where(n.c.context_identifier == sa.bindparam("ctx")))]
    if by_host:
        parts.append(current(sa.select(n).where(n.c.host == sa.bindparam("host"))))
    parts.append(
        current(
            sa.select(n)
            .join(notice_tenants, notice_tenants.c.notice_id == n.c.id)
            .where(notice_tenants.c.context_identifier == sa.bindparam("ctx")),
            # The same order as n.id, read from the index that found the rows.
            notice_tenants.c.notice_id,
        )
    )
    # One round trip: each part seeks its own index and keeps its newest `limit`.
    return sa.union_all(*(sa.select(part.subquery()) for part in parts))


def read_tenant_notices(
    connection: sa.Connection,
    context_identifier: str,
    host: str,
    *,
    resolved_since: datetime | None,
    limit: int,
) -> list[Notice]:
    """The tenant's notices on an open connection, newest first (see `tenant_notices`)."""
    statement = _tenant_notices_statement(bool(host), resolved_since is not None)
    params: dict[str, Any] = {"ctx": context_identifier, "host": host, "limit": limit}
    if resolved_since is not None:
        params["since"] = resolved_since
    rows: dict[int, Any] = {row.id: row for row in connection.execute(statement, params)}
    chosen = sorted(rows.values(), key=lambda row: row.id, reverse=True)[:limit]
    updates = _updates_of(connection, [row.id for row in chosen])
    return [_notice(row, updates[row.id]) for row in chosen]


async def operation_notices(
    connection: AsyncConnection,
    context_identifier: str,
    *,
    history_id: int,
    operation: str,
    from_state: TenantState | None,
    to_state: TenantState,
    notice: NoticeDraft | None,
    scheduled_id: int | None,
    actor: str,
    at: datetime,
) -> None:
    """What an operation does to notices, in its own transaction.

    The tenant's operation notices whose operation entered another state than the
    tenant is in now are finished (an incident keeps what it interrupts); a scheduled
    operation's notice gets the history row; a new notice is written for it. A notice
    of an operation that keeps the state (move, set-version) is finished at once.
    """
    n = notices
    if from_state is not to_state and operation != "incident":
        left = (
            sa.select(history.c.id)
            .where(history.c.id == n.c.history_id, history.c.to_state != int(to_state))
            .exists()
        )
        await connection.execute(
            n.update()
            .where(
                n.c.context_identifier == context_identifier,
                n.c.resolved_at.is_(None),
                n.c.history_id.is_not(None),
                left,
            )
            .values(resolved_at=at, resolution=NoticeResolution.FINISHED.value, updated_at=at)
        )
    kept = from_state is to_state
    finished = {"resolved_at": at, "resolution": NoticeResolution.FINISHED.value} if kept else {}
    if scheduled_id is not None:
        await connection.execute(
            n.update()
            .where(n.c.scheduled_id == scheduled_id, n.c.resolved_at.is_(None))
            .values(history_id=history_id, updated_at=at, **finished)
        )
    if notice is not None:
        await connection.execute(
            n.insert().values(
                scope=NoticeScope.TENANT.value,
                context_identifier=context_identifier,
                body=notice.body,
                posted_by=actor,
                posted_at=at,
                expected_end=notice.until,
                updated_at=at,
                operation=operation,
                history_id=history_id,
                **finished,
            )
        )


class NoticeSql:
    """Notices; mixed into `SqlStore`, which provides the engines."""

    _engine: AsyncEngine
    _writer: AsyncEngine

    async def post_notice(
        self,
        body: str,
        *,
        scope: NoticeScope,
        posted_by: str,
        at: datetime,
        until: datetime | None = None,
        context_identifier: str | None = None,
        host: str | None = None,
        context_identifiers: Sequence[str] = (),
        operation: str | None = None,
        scheduled_id: int | None = None,
    ) -> Notice:
        """Store a notice once, whatever it covers; return it as stored."""
        listed = sorted(set(context_identifiers))
        if scope is NoticeScope.TENANTS and not 0 < len(listed) <= MAX_LISTED_TENANTS:
            raise ValueError(f"a list notice names 1 to {MAX_LISTED_TENANTS} tenants")
        values = {
            "scope": scope.value,
            "context_identifier": context_identifier if scope is NoticeScope.TENANT else None,
            "host": host.lower() if scope is NoticeScope.HOST and host else None,
            "body": body,
            "posted_by": posted_by,
            "posted_at": at,
            "expected_end": until,
            "updated_at": at,
            "operation": operation,
            "scheduled_id": scheduled_id,
        }
        async with self._writer.begin() as connection:
            result = await connection.execute(notices.insert().values(values))
            (notice_id,) = result.inserted_primary_key or (0,)
            if listed:
                await connection.execute(
                    notice_tenants.insert(),
                    [{"notice_id": notice_id, "context_identifier": c} for c in listed],
                )
        found = await self.get_notice(int(notice_id))
        assert found is not None  # noqa: S101 - just written
        return found

    async def add_notice_update(
        self,
        notice_id: int,
        body: str,
        *,
        posted_by: str,
        at: datetime,
        until: datetime | None = None,
    ) -> Notice | None:
        """Add an update (and a new expected end, if given); None if no such open notice.

        Raises `ValueError` past `MAX_NOTICE_UPDATES` updates.
        """
        async with self._writer.begin() as connection:
            changes: dict[str, Any] = {"updated_at": at}
            if until is not None:
                changes["expected_end"] = until
            result = await connection.execute(
                notices.update()
                .where(notices.c.id == notice_id, notices.c.resolved_at.is_(None))
                .values(**changes)
            )
            if result.rowcount != 1:
                return None
            count = await connection.scalar(
                sa.select(sa.func.count()).where(notice_updates.c.notice_id == notice_id)
            )
            if int(count or 0) >= MAX_NOTICE_UPDATES:
                raise ValueError(f"a notice takes at most {MAX_NOTICE_UPDATES} updates")
            await connection.execute(
                notice_updates.insert().values(
                    notice_id=notice_id, body=body, posted_by=posted_by, posted_at=at
                )
            )
        return await self.get_notice(notice_id)

    async def resolve_notice(
        self,
        notice_id: int,
        *,
        at: datetime,
        resolution: NoticeResolution = NoticeResolution.RESOLVED,
        body: str | None = None,
        posted_by: str = "operator",
    ) -> Notice | None:
        """Resolve an open notice, with a last update if `body`; None if none is open."""
        async with self._writer.begin() as connection:
            result = await connection.execute(
                notices.update()
                .where(notices.c.id == notice_id, notices.c.resolved_at.is_(None))
                .values(resolved_at=at, resolution=resolution.value, updated_at=at)
            )
            if result.rowcount != 1:
                return None
            if body is not None:
                await connection.execute(
                    notice_updates.insert().values(
                        notice_id=notice_id, body=body, posted_by=posted_by, posted_at=at
                    )
                )
        return await self.get_notice(notice_id)

    async def get_notice(self, notice_id: int) -> Notice | None:
        """One notice with its updates and, for a list notice, its tenants."""
        async with self._engine.connect() as connection:
            row = (
                await connection.execute(sa.select(notices).where(notices.c.id == notice_id))
            ).first()
            if row is None:
                return None
            updates = await connection.run_sync(_updates_of, [notice_id])
            listed: list[str] = []
            if row.scope == NoticeScope.TENANTS.value:
                listed = list(
                    await connection.scalars(
                        sa.select(notice_tenants.c.context_identifier)
                        .where(notice_tenants.c.notice_id == notice_id)
                        .order_by(notice_tenants.c.context_identifier)
                    )
                )
        return _notice(row, updates[notice_id], listed)

    async def list_notices(
        self, *, open_only: bool = True, before_id: int | None = None, limit: int = 100
    ) -> list[Notice]:
        """Notices newest first (open ones only, unless `open_only` is False), with updates."""
        query = sa.select(notices).order_by(notices.c.id.desc()).limit(limit)
        if open_only:
            query = query.where(notices.c.resolved_at.is_(None))
        if before_id is not None:
            query = query.where(notices.c.id < before_id)
        async with self._engine.connect() as connection:
            rows = list(await connection.execute(query))
            updates = await connection.run_sync(_updates_of, [row.id for row in rows])
        return [_notice(row, updates[row.id]) for row in rows]

    async def tenant_notices(
        self,
        context_identifier: str,
        *,
        resolved_since: datetime | None = None,
        limit: int = 20,
    ) -> list[Notice]:
        """The notices shown for one tenant, newest first, each with its updates.

        Its own notices, those on its Endpoint's host and the lists naming it: open
        ones, and resolved ones (those resolved at or after `resolved_since`, if given).
        At most `limit`. An unknown tenant has none.
        """
        async with self._engine.connect() as connection:
            endpoint = await connection.scalar(
                sa.select(tenants.c.endpoint).where(
                    tenants.c.context_identifier == context_identifier
                )
            )
            if endpoint is None:
                return []
            return await connection.run_sync(
                read_tenant_notices,
                context_identifier,
                endpoint_host(endpoint),
                resolved_since=resolved_since,
                limit=limit,
            )

    async def open_tenant_notice(self, context_identifier: str) -> Notice | None:
        """The tenant's own newest open notice: what `tenant note` adds to."""
        query = (
            sa.select(notices.c.id)
            .where(
                notices.c.context_identifier == context_identifier,
                notices.c.resolved_at.is_(None),
            )
            .order_by(notices.c.id.desc())
            .limit(1)
        )
        async with self._engine.connect() as connection:
            notice_id = await connection.scalar(query)
        return None if notice_id is None else await self.get_notice(int(notice_id))
