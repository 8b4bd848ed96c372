"""The SQL side of the vendor portal: sessions, single-use links, customers, attempts.

`PortalSql` is mixed into `SqlStore`. Tokens arrive hashed; nothing here sees one.
Every read seeks an index: sessions and links by their hash (the primary key), an
application's customers through the `approvals` primary key, a page of deliveries
through `ix_deliveries_app_seq` and its attempts through `ix_attempts_delivery`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from tenantstatus.model import TenantState
from tenantstatus.store.push_records import Application, Attempt, Delivery, DeliveryStatus
from tenantstatus.store.push_sql import _application, _delivery
from tenantstatus.store.schema import (
    applications,
    approvals,
    deliveries,
    delivery_attempts,
    portal_links,
    portal_sessions,
    tenants,
)
from tenantstatus.store.status_sql import TenantListing, _escape_like, _prefix_bounds

__all__ = ["CustomerPage", "PortalSql"]


@dataclass(frozen=True, slots=True)
class CustomerPage:
    """A page of the tenants that approved one application, in ContextIdentifier order."""

    tenants: Sequence[TenantListing]
    has_next: bool


class PortalSql:
    """Portal persistence; mixed into `SqlStore`, which provides the engines."""

    _engine: AsyncEngine
    _writer: AsyncEngine

    # --- sessions ----------------------------------------------------------------------

    async def add_portal_session(
        self,
        token_hash: str,
        application_id: str,
        *,
        now: datetime,
        expires_at: datetime,
        keep: int,
    ) -> None:
        """Store a session; expired ones go, and the application's oldest beyond `keep`."""
        async with self._writer.begin() as connection:
            await self._insert_session(connection, token_hash, application_id, now, expires_at)
            await self._bound_sessions(connection, application_id, now, keep)

    async def portal_session(self, token_hash: str, now: datetime) -> str | None:
        """The application a live session belongs to, or None."""
        query = (
            sa.select(portal_sessions.c.application_id)
            .where(portal_sessions.c.token_hash == token_hash)
            .where(portal_sessions.c.expires_at > now)
        )
        async with self._engine.connect() as connection:
            found: str | None = await connection.scalar(query)
        return found

    async def portal_application(self, token_hash: str, now: datetime) -> Application | None:
        """The application of a live session, read with the session in one statement."""
        query = (
            sa.select(applications)
            .join(portal_sessions, portal_sessions.c.application_id == applications.c.id)
            .where(portal_sessions.c.token_hash == token_hash)
            .where(portal_sessions.c.expires_at > now)
        )
        async with self._engine.connect() as connection:
            row = (await connection.execute(query)).first()
        return None if row is None else _application(row)

    async def end_portal_session(self, token_hash: str) -> bool:
        """Forget a session (logout); False when there was none."""
        async with self._writer.begin() as connection:
            result = await connection.execute(
                portal_sessions.delete().where(portal_sessions.c.token_hash == token_hash)
            )
        return int(result.rowcount) == 1

    # --- single-use links --------------------------------------------------------------

    async def add_portal_link(
        self, token_hash: str, application_id: str, *, now: datetime, expires_at: datetime
    ) -> None:
        """Store a link; expired links go at the same time."""
        async with self._writer.begin() as connection:
            await connection.execute(portal_links.delete().where(portal_links.c.expires_at <= now))
            await connection.execute(
                portal_links.insert().values(
                    token_hash=token_hash,
                    application_id=application_id,
                    created_at=now,
                    expires_at=expires_at,
                )
            )

    async def use_portal_link(
        self,
        link_hash: str,
        session_hash: str,
        *,
        now: datetime,
        expires_at: datetime,
        keep: int,
    ) -> str | None:
        """Spend a live, unused link and open a session with it, in one transaction.

        The conditional UPDATE is what makes a link single-use: of two racing
        requests only one changes the row. Returns the application, or None.
        """
        async with self._writer.begin() as connection:
            spent = await connection.execute(
                portal_links.update()
                .where(portal_links.c.token_hash == link_hash)
                .where(portal_links.c.used_at.is_(None))
                .where(portal_links.c.expires_at > now)
                .values(used_at=now)
                .returning(portal_links.c.application_id)
            )
            application_id: str | None = spent.scalar()
            if application_id is None:
                return None
            await self._insert_session(connection, session_hash, application_id, now, expires_at)
            await self._bound_sessions(connection, application_id, now, keep)
        return application_id

    # --- what the pages read -----------------------------------------------------------

    async def customer_page(
        self,
        application_id: str,
        *,
        prefix: str | None = None,
        state: TenantState | None = None,
        after: str | None = None,
        limit: int = 50,
    ) -> CustomerPage:
        """Tenants that approved the application, with their state (keyset pagination)."""
        ctx = approvals.c.context_identifier
        query = (
            sa.select(ctx, tenants.c.state, tenants.c.state_since, tenants.c.version_name)
            .join(tenants, tenants.c.context_identifier == ctx)
            .where(approvals.c.application_id == application_id)
        )
        if state is not None:
            query = query.where(tenants.c.state == int(state))
        if prefix:
            low, high = _prefix_bounds(prefix)
            query = query.where(
                ctx >= low, ctx < high, ctx.like(_escape_like(prefix) + "%", escape="\\")
            )
        if after is not None:
            query = query.where(ctx > after)
        query = query.order_by(ctx).limit(limit + 1)
        async with self._engine.connect() as connection:
            rows = list((await connection.execute(query)).all())
        listings = [
            TenantListing(
                context_identifier=row.context_identifier,
                state=TenantState(row.state),
                state_since=row.state_since,
                version_name=row.version_name,
            )
            for row in rows[:limit]
        ]
        return CustomerPage(listings, has_next=len(rows) > limit)

    async def customer_counts(self, application_id: str) -> dict[TenantState, int]:
        """How many of the application's customers are in each state."""
        joined = approvals.join(
            tenants, tenants.c.context_identifier == approvals.c.context_identifier
        )
        query = (
            sa.select(tenants.c.state, sa.func.count())
            .select_from(joined)
            .where(approvals.c.application_id == application_id)
            .group_by(tenants.c.state)
        )
        async with self._engine.connect() as connection:
            return {TenantState(s): int(n) for s, n in await connection.execute(query)}

    async def delivery_page(
        self,
        application_id: str,
        *,
        status: DeliveryStatus | None = None,
        before_seq: int | None = None,
        limit: int = 25,
    ) -> list[tuple[Delivery, list[Attempt]]]:
        """The application's deliveries newest first, each with every attempt, oldest first.

        Two reads on one connection: the page through `ix_deliveries_app_seq`, then its
        attempts through `ix_attempts_delivery`.
        """
        query = (
            sa.select(deliveries)
            .where(deliveries.c.application_id == application_id)
            .order_by(deliveries.c.seq.desc())
            .limit(limit)
        )
        if status is not None:
            query = query.where(deliveries.c.status == status.value)
        if before_seq is not None:
            query = query.where(deliveries.c.seq < before_seq)
        async with self._engine.connect() as connection:
            rows = list(await connection.execute(query))
            found: dict[int, list[Attempt]] = {row.seq: [] for row in rows}
            if rows:
                attempts = await connection.execute(
                    sa.select(delivery_attempts)
                    .where(delivery_attempts.c.delivery_seq.in_(list(found)))
                    .order_by(delivery_attempts.c.delivery_seq, delivery_attempts.c.id)
                )
                for a in attempts:
                    found[a.delivery_seq].append(
                        Attempt(
                            at=a.at,
                            latency_ms=a.latency_ms,
                            status_code=a.status_code,
                            error=a.error,
                            response_excerpt=a.response_excerpt,
                        )
                    )
        return [(_delivery(row, len(found[row.seq])), found[row.seq]) for row in rows]

    # --- shared steps ------------------------------------------------------------------

    @staticmethod
    async def _insert_session(
        connection: AsyncConnection,
        token_hash: str,
        application_id: str,
        now: datetime,
        expires_at: datetime,
    ) -> None:
        await connection.execute(
            portal_sessions.insert().values(
                token_hash=token_hash,
                application_id=application_id,
                created_at=now,
                expires_at=expires_at,
            )
        )

    @staticmethod
    async def _bound_sessions(
        connection: AsyncConnection, application_id: str, now: datetime, keep: int
    ) -> None:
        await connection.execute(
            portal_sessions.delete().where(portal_sessions.c.expires_at <= now)
        )
        newest: Any = (
            sa.select(portal_sessions.c.token_hash)
            .where(portal_sessions.c.application_id == application_id)
            .order_by(portal_sessions.c.created_at.desc(), portal_sessions.c.token_hash)
            .limit(keep)
        )
        await connection.execute(
            portal_sessions.delete()
            .where(portal_sessions.c.application_id == application_id)
            .where(portal_sessions.c.token_hash.not_in(newest))
        )
