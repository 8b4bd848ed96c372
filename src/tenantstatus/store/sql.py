"""The SQL store: SQLAlchemy Core over an async driver (aiosqlite by default).

>>> store = SqlStore("sqlite+aiosqlite:////var/lib/tenantstatus/tenantstatus.db")
>>> await store.open()      # applies the Alembic migrations
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Mapping, Sequence
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from tenantstatus.lifecycle import Outcome, Tenant
from tenantstatus.model import ChangeType, TenantState
from tenantstatus.store.base import (
    HistoryEntry,
    ImportResult,
    ScheduledOperation,
    ScheduleNotPending,
    ScheduleStatus,
    StoreUnavailable,
)
from tenantstatus.store.calendar_sql import CalendarSql, touch_schedule
from tenantstatus.store.change_listener import ALL_TENANTS, CHANGE_CHANNEL, listen_for_changes
from tenantstatus.store.notice_records import NoticeDraft, NoticeResolution, NoticeScope
from tenantstatus.store.notice_sql import NoticeSql, operation_notices
from tenantstatus.store.portal_sql import PortalSql
from tenantstatus.store.private_files import private_sqlite_files
from tenantstatus.store.push_sql import PushSql, enqueue_notifications
from tenantstatus.store.rollout_records import RolloutPhase
from tenantstatus.store.rollout_sql import RolloutSql, rollout_progress_on_commit
from tenantstatus.store.schema import (
    Instant,
    history,
    notices,
    scheduled_operations,
    service_settings,
    tenants,
)
from tenantstatus.store.sqlite_reader import WRITE_OPTION, SqliteReader, configure_sqlite
from tenantstatus.store.status_sql import StatusSql
from tenantstatus.store.tenant_rows import select_tenant, tenant_from_row

__all__ = ["SqlStore"]


def _tenant_row(tenant: Tenant, *, revision: int, at: datetime) -> dict[str, Any]:
    pending = None
    if tenant.pending_version_name is not None:
        pending = json.dumps(
            {
                "version_name": tenant.pending_version_name,
                "file_version": tenant.pending_file_version,
                "version_document": dict(tenant.pending_version_document or {}),
            }
        )
    return {
        "context_identifier": tenant.context_identifier,
        "endpoint": tenant.endpoint,
        "state": int(tenant.state),
        "state_since": tenant.state_since,
        "created_at": tenant.created_at,
        "updated_at": at,
        "version_name": tenant.version_name,
        "file_version": tenant.file_version,
        "version_document": json.dumps(dict(tenant.version_document)),
        "activity": None if tenant.activity is None else str(tenant.activity),
        "pending_version": pending,
        "state_before_incident": None
        if tenant.state_before_incident is None
        else int(tenant.state_before_incident),
        "revision": revision,
    }


def _history_entry(row: sa.Row[Any]) -> HistoryEntry:
    return HistoryEntry(
        id=row.id,
        context_identifier=row.context_identifier,
        operation=row.operation,
        actor=row.actor,
        at=row.at,
        from_state=None if row.from_state is None else TenantState(row.from_state),
        to_state=TenantState(row.to_state),
        change_type=None if row.change_type is None else ChangeType(row.change_type),
        detail=json.loads(row.detail) if row.detail else {},
    )


def _scheduled(row: sa.Row[Any]) -> ScheduledOperation:
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
        revision=row.revision,
    )


class SqlStore(PushSql, StatusSql, PortalSql, NoticeSql, CalendarSql, RolloutSql):
    """`Store` on SQLAlchemy Core. One instance per process; safe for concurrent tasks."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = url
        self._engine = create_async_engine(
            url, echo=echo, pool_pre_ping=not url.startswith("sqlite")
        )
        self._is_sqlite = self._engine.dialect.name == "sqlite"
        self._reader: SqliteReader | None = None
        if self._is_sqlite:
            configure_sqlite(self._engine.sync_engine)
            if self._engine.url.database not in (None, "", ":memory:"):
                self._reader = SqliteReader(self._engine.url, echo=echo)
        self._writer = self._engine.execution_options(**{WRITE_OPTION: True})
        self._listener: AsyncEngine | None = None

    @property
    def dialect(self) -> str:
        """The database's dialect name: `sqlite` or `postgresql`."""
        return str(self._engine.dialect.name)

    # --- lifecycle of the store itself -------------------------------------------------

    async def open(self) -> None:
        database = self._engine.url.database
        try:
            if self._is_sqlite and database and database != ":memory:":
                private_sqlite_files(Path(database))
        except OSError as exc:
            raise StoreUnavailable(f"cannot open the database: {exc}") from exc
        try:
            async with self._writer.begin() as connection:
                await connection.run_sync(_upgrade_schema)
        except DBAPIError as exc:
            raise StoreUnavailable(f"cannot open the database: {exc.orig}") from exc

    async def close(self) -> None:
        if self._listener is not None:
            await self._listener.dispose()
        if self._reader is not None:
            await self._reader.close()
        await self._engine.dispose()

    def changes(self) -> AsyncGenerator[str, None]:
        if self._is_sqlite:
            return _no_changes()
        if self._listener is None:
            # A LISTEN holds its connection for good: not one of the pool's.
            self._listener = create_async_engine(self._engine.url, poolclass=NullPool)
        return listen_for_changes(self._listener)

    async def ping(self) -> None:
        try:
            async with self._engine.connect() as connection:
                await connection.execute(sa.text("SELECT 1"))
        except (DBAPIError, OSError) as exc:
            raise StoreUnavailable(str(exc)) from exc

    # --- tenants ---------------------------------------------------------------------------

    async def get_tenant(self, context_identifier: str) -> Tenant | None:
        async with self._engine.connect() as connection:
            return await self._read_tenant(connection, context_identifier)

    async def get_tenants(self, context_identifiers: Sequence[str]) -> dict[str, Tenant]:
        async with self._engine.connect() as connection:
            return await self._read_tenants(connection, context_identifiers)

    async def _read_tenant(
        self, connection: AsyncConnection, context_identifier: str, *, for_update: bool = False
    ) -> Tenant | None:
        query = select_tenant(context_identifier)
        if for_update and not self._is_sqlite:
            query = query.with_for_update()
        row = (await connection.execute(query)).first()
        return None if row is None else tenant_from_row(row)

    async def _read_tenants(
        self, connection: AsyncConnection, context_identifiers: Sequence[str]
    ) -> dict[str, Tenant]:
        if not context_identifiers:
            return {}
        query = sa.select(tenants).where(
            tenants.c.context_identifier.in_(list(context_identifiers))
        )
        rows = await connection.execute(query)
        return {row.context_identifier: tenant_from_row(row) for row in rows}

    _scheduled_of_row = staticmethod(_scheduled)

    async def _next_revision(self, connection: AsyncConnection) -> int:
        if not self._is_sqlite:
            return int(await connection.scalar(sa.text("SELECT nextval('tenant_revision')")))
        # SQLite has one writer at a time (BEGIN IMMEDIATE), so max + 1 cannot collide.
        value = await connection.scalar(sa.select(sa.func.max(tenants.c.revision)))
        return int(value or 0) + 1

    async def _announce(self, connection: AsyncConnection, context_identifier: str) -> None:
        """Tell other nodes (PostgreSQL LISTEN) that a tenant changed; sent on commit."""
        if not self._is_sqlite:
            await connection.execute(
                sa.text("SELECT pg_notify(:channel, :payload)"),
                {"channel": CHANGE_CHANNEL, "payload": context_identifier},
            )

    async def commit_operation(
        self,
        context_identifier: str,
        decide: Callable[[Tenant | None], Outcome],
        *,
        actor: str,
        at: datetime,
        detail: Mapping[str, Any] | None = None,
        scheduled_id: int | None = None,
        notice: NoticeDraft | None = None,
    ) -> tuple[Outcome, HistoryEntry]:
        try:
            return await self._commit_operation(
                context_identifier, decide, actor, at, detail, scheduled_id, notice
            )
        except IntegrityError:
            # Two nodes created the same tenant at once; decide again against the winner.
            return await self._commit_operation(
                context_identifier, decide, actor, at, detail, scheduled_id, notice
            )

    async def _commit_operation(
        self,
        context_identifier: str,
        decide: Callable[[Tenant | None], Outcome],
        actor: str,
        at: datetime,
        detail: Mapping[str, Any] | None,
        scheduled_id: int | None,
        notice: NoticeDraft | None,
    ) -> tuple[Outcome, HistoryEntry]:
        async with self._writer.begin() as connection:
            if scheduled_id is not None:
                claimed = await connection.execute(
                    scheduled_operations.update()
                    .where(scheduled_operations.c.id == scheduled_id)
                    .where(scheduled_operations.c.status == ScheduleStatus.PENDING)
                    .values(status=ScheduleStatus.DONE, finished_at=at)
                )
                if claimed.rowcount != 1:
                    raise ScheduleNotPending(scheduled_id)
                await touch_schedule(connection, context_identifier, scheduled_id)
            current = await self._read_tenant(connection, context_identifier, for_update=True)
            outcome = decide(current)
            row = _tenant_row(outcome.tenant, revision=await self._next_revision(connection), at=at)
            if current is None:
                await connection.execute(tenants.insert().values(row))
            else:
                await connection.execute(
                    tenants.update()
                    .where(tenants.c.context_identifier == context_identifier)
                    .values(row)
                )
            entry_values = {
                "context_identifier": context_identifier,
                "operation": str(outcome.operation),
                "actor": actor,
                "at": at,
                "from_state": None if outcome.from_state is None else int(outcome.from_state),
                "to_state": int(outcome.tenant.state),
                "change_type": None if outcome.announces is None else int(outcome.announces),
                "detail": json.dumps(dict(detail or {})),
                # Scheduled ahead or carrying a message: announced, for quotable uptime.
                "announced": scheduled_id is not None or notice is not None,
            }
            result = await connection.execute(history.insert().values(entry_values))
            (history_id,) = result.inserted_primary_key or (0,)
            await operation_notices(
                connection,
                context_identifier,
                history_id=int(history_id),
                operation=str(outcome.operation),
                from_state=outcome.from_state,
                to_state=outcome.tenant.state,
                notice=notice,
                scheduled_id=scheduled_id,
                actor=actor,
                at=at,
            )
            await enqueue_notifications(connection, outcome, int(history_id), at)
            await rollout_progress_on_commit(
                connection, context_identifier, outcome, scheduled_id, at
            )
            await self._announce(connection, context_identifier)
        entry = HistoryEntry(
            id=int(history_id),
            context_identifier=context_identifier,
            operation=str(outcome.operation),
            actor=actor,
            at=at,
            from_state=outcome.from_state,
            to_state=outcome.tenant.state,
            change_type=outcome.announces,
            detail=dict(detail or {}),
        )
        return outcome, entry

    async def import_tenants(
        self, new_tenants: Sequence[Tenant], *, actor: str, at: datetime
    ) -> ImportResult:
        if not new_tenants:
            return ImportResult(created=0, skipped=0)
        unique = {t.context_identifier: t for t in new_tenants}
        async with self._writer.begin() as connection:
            existing: set[str] = set()
            ids = list(unique)
            for start in range(0, len(ids), 500):
                chunk = ids[start : start + 500]
                found = await connection.scalars(
                    sa.select(tenants.c.context_identifier).where(
                        tenants.c.context_identifier.in_(chunk)
                    )
                )
                existing.update(found)
            fresh = [t for ctx, t in unique.items() if ctx not in existing]
            if fresh:
                revision = await self._next_revision(connection)
                await self._insert_many(
                    connection,
                    tenants,
                    [_tenant_row(t, revision=revision, at=at) for t in fresh],
                )
                await self._insert_many(
                    connection,
                    history,
                    [
                        {
                            "context_identifier": t.context_identifier,
                            "operation": "provision",
                            "actor": actor,
                            "at": at,
                            "from_state": None,
                            "to_state": int(t.state),
                            "change_type": None,
                            "detail": '{"import":true}',
                        }
                        for t in fresh
                    ],
                )
                await self._announce(connection, ALL_TENANTS)
        return ImportResult(created=len(fresh), skipped=len(new_tenants) - len(fresh))

    async def _insert_many(
        self, connection: AsyncConnection, table: sa.Table, rows: list[dict[str, Any]]
    ) -> None:
        """Bulk insert straight through the driver's executemany.

        SQLAlchemy's per-row parameter processing cost more than the insert itself at a
        million rows; here the only conversion is the `Instant` columns', done inline.
        """
        names = list(rows[0])
        instants = {n for n in names if isinstance(table.c[n].type, Instant)}
        dialect = self._engine.dialect
        marks = (
            ["?"] * len(names)
            if dialect.paramstyle == "qmark"
            else [f"${i}" for i in range(1, len(names) + 1)]
        )
        statement = f"INSERT INTO {table.name} ({', '.join(names)}) VALUES ({', '.join(marks)})"  # noqa: S608 - names come from our schema
        to_int = Instant().process_bind_param
        values = [
            tuple(to_int(row[n], dialect) if n in instants else row[n] for n in names)
            for row in rows
        ]
        await connection.exec_driver_sql(statement, values)

    async def list_tenants(
        self, *, state: TenantState | None = None, after: str | None = None, limit: int = 100
    ) -> list[Tenant]:
        query = sa.select(tenants).order_by(tenants.c.context_identifier).limit(limit)
        if state is not None:
            query = query.where(tenants.c.state == int(state))
        if after is not None:
            query = query.where(tenants.c.context_identifier > after)
        async with self._engine.connect() as connection:
            return [tenant_from_row(row) for row in await connection.execute(query)]

    async def count_by_state(self) -> dict[TenantState, int]:
        query = sa.select(tenants.c.state, sa.func.count()).group_by(tenants.c.state)
        async with self._engine.connect() as connection:
            return {TenantState(s): int(n) for s, n in await connection.execute(query)}

    async def history(self, context_identifier: str, *, limit: int = 100) -> list[HistoryEntry]:
        query = (
            sa.select(history)
            .where(history.c.context_identifier == context_identifier)
            .order_by(history.c.id.desc())
            .limit(limit)
        )
        async with self._engine.connect() as connection:
            return [_history_entry(row) for row in await connection.execute(query)]

    async def stream_tenants(self, *, batch_size: int = 10_000) -> AsyncIterator[list[Tenant]]:
        after = ""
        while True:
            query = (
                sa.select(tenants)
                .where(tenants.c.context_identifier > after)
                .order_by(tenants.c.context_identifier)
                .limit(batch_size)
            )
            async with self._engine.connect() as connection:
                batch = [tenant_from_row(row) for row in await connection.execute(query)]
            if not batch:
                return
            yield batch
            after = batch[-1].context_identifier

    async def stream_summaries(
        self, *, batch_size: int = 50_000
    ) -> AsyncIterator[list[tuple[str, str, int, str]]]:
        """(ContextIdentifier, Endpoint, state code, version document JSON) of every tenant.

        The state cache needs only these; skipping full records makes start-up with a
        million tenants several times faster.
        """
        columns = (
            tenants.c.context_identifier,
            tenants.c.endpoint,
            tenants.c.state,
            tenants.c.version_document,
        )
        after = ""
        while True:
            query = (
                sa.select(*columns)
                .where(tenants.c.context_identifier > after)
                .order_by(tenants.c.context_identifier)
                .limit(batch_size)
            )
            async with self._engine.connect() as connection:
                batch = [tuple(row) for row in await connection.execute(query)]
            if not batch:
                return
            yield batch
            after = batch[-1][0]

    async def current_revision(self) -> int:
        async with self._engine.connect() as connection:
            value = await connection.scalar(sa.select(sa.func.max(tenants.c.revision)))
        return int(value or 0)

    async def changed_since(
        self, revision: int, *, limit: int = 10_000
    ) -> list[tuple[int, Tenant]]:
        query = (
            sa.select(tenants)
            .where(tenants.c.revision > revision)
            .order_by(tenants.c.revision)
            .limit(limit)
        )
        async with self._engine.connect() as connection:
            rows = await connection.execute(query)
            return [(int(row.revision), tenant_from_row(row)) for row in rows]

    # --- scheduled operations -----------------------------------------------------------------

    async def schedule_operation(
        self,
        context_identifier: str,
        operation: str,
        parameters: Mapping[str, Any],
        *,
        run_at: datetime,
        actor: str,
        at: datetime,
        notice: NoticeDraft | None = None,
    ) -> ScheduledOperation:
        values = {
            "context_identifier": context_identifier,
            "operation": operation,
            "parameters": json.dumps(dict(parameters)),
            "run_at": run_at,
            "status": ScheduleStatus.PENDING.value,
            "created_by": actor,
            "created_at": at,
        }
        async with self._writer.begin() as connection:
            await touch_schedule(connection, context_identifier)
            result = await connection.execute(scheduled_operations.insert().values(values))
            (scheduled_id,) = result.inserted_primary_key or (0,)
            if notice is not None:
                await connection.execute(
                    notices.insert().values(
                        scope=NoticeScope.TENANT.value,
                        context_identifier=context_identifier,
                        body=notice.body,
                        posted_by=actor,
                        posted_at=at,
                        expected_end=notice.until,
                        updated_at=at,
                        operation=operation,
                        scheduled_id=int(scheduled_id),
                    )
                )
            await self._announce(connection, context_identifier)
        return ScheduledOperation(
            id=int(scheduled_id),
            context_identifier=context_identifier,
            operation=operation,
            parameters=dict(parameters),
            run_at=run_at,
            status=ScheduleStatus.PENDING,
            created_by=actor,
            created_at=at,
        )

    async def get_scheduled(self, scheduled_id: int) -> ScheduledOperation | None:
        query = sa.select(scheduled_operations).where(scheduled_operations.c.id == scheduled_id)
        async with self._engine.connect() as connection:
            row = (await connection.execute(query)).first()
        return None if row is None else _scheduled(row)

    async def list_scheduled(
        self,
        *,
        context_identifier: str | None = None,
        status: ScheduleStatus | None = ScheduleStatus.PENDING,
        limit: int = 100,
        runnable: bool = False,
    ) -> list[ScheduledOperation]:
        query = (
            sa.select(scheduled_operations)
            .order_by(scheduled_operations.c.run_at, scheduled_operations.c.id)
            .limit(limit)
        )
        if context_identifier is not None:
            query = query.where(scheduled_operations.c.context_identifier == context_identifier)
        if status is not None:
            query = query.where(scheduled_operations.c.status == status.value)
        if runnable:
            query = query.where(scheduled_operations.c.held == sa.false())
        async with self._engine.connect() as connection:
            return [_scheduled(row) for row in await connection.execute(query)]

    async def cancel_scheduled(
        self, scheduled_id: int, *, at: datetime
    ) -> ScheduledOperation | None:
        async with self._writer.begin() as connection:
            result = await connection.execute(
                scheduled_operations.update()
                .where(scheduled_operations.c.id == scheduled_id)
                .where(scheduled_operations.c.status == ScheduleStatus.PENDING.value)
                .values(
                    status=ScheduleStatus.CANCELLED.value,
                    finished_at=at,
                    rollout_phase=sa.case(
                        (
                            scheduled_operations.c.rollout_id.is_not(None),
                            RolloutPhase.CANCELLED.value,
                        ),
                        else_=None,
                    ),
                )
            )
            if result.rowcount != 1:
                return None
            row = (
                await connection.execute(
                    sa.select(scheduled_operations).where(scheduled_operations.c.id == scheduled_id)
                )
            ).one()
            await self._end_scheduled_notices(
                connection, scheduled_id, at, NoticeResolution.CANCELLED
            )
            await touch_schedule(connection, row.context_identifier, scheduled_id)
            await self._announce(connection, row.context_identifier)
        return _scheduled(row)

    async def due_scheduled(self, now: datetime, *, limit: int = 100) -> list[ScheduledOperation]:
        query = (
            sa.select(scheduled_operations)
            .where(scheduled_operations.c.status == ScheduleStatus.PENDING.value)
            .where(scheduled_operations.c.run_at <= now)
            .where(scheduled_operations.c.held == sa.false())  # a rollout's wave not released
            .order_by(scheduled_operations.c.run_at, scheduled_operations.c.id)
            .limit(limit)
        )
        async with self._engine.connect() as connection:
            return [_scheduled(row) for row in await connection.execute(query)]

    async def fail_scheduled(self, scheduled_id: int, *, error: str, at: datetime) -> None:
        async with self._writer.begin() as connection:
            await connection.execute(
                scheduled_operations.update()
                .where(scheduled_operations.c.id == scheduled_id)
                .where(scheduled_operations.c.status == ScheduleStatus.PENDING.value)
                .values(
                    status=ScheduleStatus.FAILED.value,
                    finished_at=at,
                    error=error[:2000],
                    rollout_phase=sa.case(
                        (
                            scheduled_operations.c.rollout_id.is_not(None),
                            RolloutPhase.REFUSED.value,
                        ),
                        else_=None,
                    ),
                )
            )
            await self._end_scheduled_notices(connection, scheduled_id, at, NoticeResolution.FAILED)
            owner = await connection.scalar(
                sa.select(scheduled_operations.c.context_identifier).where(
                    scheduled_operations.c.id == scheduled_id
                )
            )
            if owner is not None:
                await touch_schedule(connection, owner, scheduled_id)
                await self._announce(connection, owner)

    async def _end_scheduled_notices(
        self,
        connection: AsyncConnection,
        scheduled_id: int,
        at: datetime,
        resolution: NoticeResolution,
    ) -> None:
        await connection.execute(
            notices.update()
            .where(notices.c.scheduled_id == scheduled_id, notices.c.resolved_at.is_(None))
            .values(resolved_at=at, resolution=resolution.value, updated_at=at)
        )

    async def next_scheduled(self) -> dict[str, datetime]:
        query = (
            sa.select(
                scheduled_operations.c.context_identifier,
                sa.func.min(scheduled_operations.c.run_at),
            )
            .where(scheduled_operations.c.status == ScheduleStatus.PENDING.value)
            .group_by(scheduled_operations.c.context_identifier)
        )
        async with self._engine.connect() as connection:
            return {ctx: run_at for ctx, run_at in await connection.execute(query)}

    async def next_scheduled_of(self, context_identifiers: Sequence[str]) -> dict[str, datetime]:
        """The earliest pending instant of each of these tenants that has one."""
        query = (
            sa.select(
                scheduled_operations.c.context_identifier,
                sa.func.min(scheduled_operations.c.run_at),
            )
            .where(
                scheduled_operations.c.context_identifier.in_(context_identifiers),
                scheduled_operations.c.status == ScheduleStatus.PENDING.value,
            )
            .group_by(scheduled_operations.c.context_identifier)
        )
        async with self._engine.connect() as connection:
            return {ctx: run_at for ctx, run_at in await connection.execute(query)}

    async def rollout_next_scheduled(
        self, rollout_id: int, *, batch_size: int = 500
    ) -> AsyncIterator[list[tuple[str, datetime | None]]]:
        """Each tenant of a rollout with its earliest pending instant (None: nothing
        pending), in batches: what ValidUntil's caps need after the rollout changed.

        One streamed read of the rollout's tenants, and per batch one indexed read of
        their pending instants (a correlated subquery made SQLite scan every pending row).
        """
        query = sa.select(scheduled_operations.c.context_identifier).where(
            scheduled_operations.c.rollout_id == rollout_id
        )
        async with self._engine.connect() as connection:
            result = await connection.stream(query)
            async for partition in result.partitions(batch_size):
                batch = [str(row[0]) for row in partition]
                upcoming = await self.next_scheduled_of(batch)
                yield [(ctx, upcoming.get(ctx)) for ctx in batch]

    # --- settings -----------------------------------------------------------------------------

    async def get_setting(self, key: str) -> str | None:
        query = sa.select(service_settings.c.value).where(service_settings.c.key == key)
        async with self._engine.connect() as connection:
            value = await connection.scalar(query)
        return None if value is None else str(value)

    async def put_setting(self, key: str, value: str) -> None:
        async with self._writer.begin() as connection:
            await connection.execute(service_settings.delete().where(service_settings.c.key == key))
            await connection.execute(service_settings.insert().values(key=key, value=value))

    async def put_setting_if_absent(self, key: str, value: str) -> str:
        try:
            async with self._writer.begin() as connection:
                await connection.execute(service_settings.insert().values(key=key, value=value))
        except IntegrityError:
            pass
        stored = await self.get_setting(key)
        assert stored is not None  # noqa: S101 - just written or already there
        return stored


def _upgrade_schema(connection: sa.Connection) -> None:
    if connection.dialect.name == "postgresql":
        # Nodes starting together migrate one at a time.
        connection.execute(sa.text("SELECT pg_advisory_xact_lock(7265746)"))
    config = Config()
    config.set_main_option(
        "script_location", str(resources.files("tenantstatus.store") / "migrations")
    )
    config.attributes["connection"] = connection
    command.upgrade(config, "head")


async def _no_changes() -> AsyncGenerator[str, None]:
    """On SQLite one process serves the API, so no other process changes tenants."""
    await asyncio.Event().wait()
    yield ALL_TENANTS  # never reached
