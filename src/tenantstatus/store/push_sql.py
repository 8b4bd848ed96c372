"""The SQL side of push: applications, approvals, the delivery outbox, signing keys.

`PushSql` is mixed into `SqlStore`; `enqueue_notifications` runs inside the store's
operation transaction, so a change and its notifications commit together.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from tenantstatus.lifecycle import Outcome
from tenantstatus.model import ChangeType
from tenantstatus.store.push_records import (
    Application,
    Attempt,
    Delivery,
    DeliveryOutcome,
    DeliveryStatus,
    StoredSigningKey,
)
from tenantstatus.store.schema import (
    Instant,
    applications,
    approvals,
    deliveries,
    delivery_attempts,
    signing_keys,
)

__all__ = ["PushSql", "enqueue_notifications"]

# PostgreSQL hands out `seq` values before commit, so two writers may commit out of
# order and a feed read between them would skip the lower seq for good. Every writer of
# deliveries holds this advisory lock shared until it commits; the feed takes it
# exclusively for an instant to learn the highest seq no writer still holds.
_OUTBOX_WRITERS_LOCK = 0x7453_4F42  # "tSOB"
_LOCK_SHARED = sa.text("SELECT pg_advisory_xact_lock_shared(:key)").bindparams(
    key=_OUTBOX_WRITERS_LOCK
)
_LOCK_EXCLUSIVE = sa.text("SELECT pg_advisory_xact_lock(:key)").bindparams(key=_OUTBOX_WRITERS_LOCK)
# None until the first nextval: then no seq is settled yet.
_LAST_SEQ = sa.text(
    "SELECT coalesce(pg_sequence_last_value(pg_get_serial_sequence('deliveries', 'seq')"
    "::regclass), 0)"
)

_PENDING = DeliveryStatus.PENDING.value
_FINISHED = (
    DeliveryStatus.DELIVERED.value,
    DeliveryStatus.DEAD.value,
    DeliveryStatus.DROPPED.value,
)
_HELD = DeliveryStatus.HELD.value
_DROPPED = DeliveryStatus.DROPPED.value
_UNFINISHED = (DeliveryStatus.PENDING, DeliveryStatus.HELD)
_EXCERPT = 1024


def _claim_statement() -> sa.Select[Any]:
    """Due deliveries, oldest first, whose earlier siblings are all done or dead."""
    now = sa.bindparam("now", type_=Instant())
    # A literal, not a parameter: PostgreSQL matches a partial index's WHERE only
    # against constants, and asyncpg's prepared statements may get generic plans.
    pending: sa.ColumnElement[str] = sa.literal_column(f"'{_PENDING}'")
    earlier = deliveries.alias("earlier")
    blocked = (
        sa.select(earlier.c.seq)
        .where(earlier.c.application_id == deliveries.c.application_id)
        .where(earlier.c.context_identifier == deliveries.c.context_identifier)
        .where(earlier.c.status == pending)
        .where(earlier.c.seq < deliveries.c.seq)
        .exists()
    )
    return (
        sa.select(deliveries)
        .join(applications, applications.c.id == deliveries.c.application_id)
        .where(deliveries.c.status == pending)
        .where(deliveries.c.next_attempt_at <= now)
        .where(sa.or_(deliveries.c.claimed_until.is_(None), deliveries.c.claimed_until < now))
        .where(applications.c.enabled.is_(True))
        .where(~blocked)
        .order_by(deliveries.c.next_attempt_at, deliveries.c.seq)
        .limit(sa.bindparam("limit", type_=sa.Integer()))
    )


# Built once: the dispatcher claims many times a second, and building and keying a
# statement of this size cost more than running it on SQLite.
_CLAIM_SQLITE = _claim_statement()
_CLAIM_LOCKING = _CLAIM_SQLITE.with_for_update(of=deliveries, skip_locked=True)
_LEASE = (
    deliveries.update()
    .where(deliveries.c.seq.in_(sa.bindparam("seqs", expanding=True)))
    .values(claimed_until=sa.bindparam("until", type_=Instant()))
)

_RECORD = (
    deliveries.update()
    .where(deliveries.c.seq == sa.bindparam("b_seq"))
    .values(
        status=sa.bindparam("b_status"),
        attempts=deliveries.c.attempts + 1,
        next_attempt_at=sa.bindparam("b_next", type_=Instant()),
        claimed_until=None,
        finished_at=sa.bindparam("b_finished", type_=Instant()),
        last_status=sa.bindparam("b_last_status", type_=sa.Integer()),
        last_error=sa.bindparam("b_last_error", type_=sa.Text()),
    )
)

# Only finished rows have a finished_at, and the partial index holds only them. The
# status is checked again on delete rather than here, where SQLite would rather seek
# the status index and sort every finished row.
_OLDEST_FINISHED = (
    sa.select(deliveries.c.seq)
    .where(deliveries.c.finished_at.is_not(None))
    .where(deliveries.c.finished_at < sa.bindparam("before", type_=Instant()))
    .order_by(deliveries.c.finished_at, deliveries.c.seq)
    .limit(sa.bindparam("limit", type_=sa.Integer()))
)
# A requeue of one of these rows waits for the pruning transaction, or is skipped.
_OLDEST_FINISHED_LOCKING = _OLDEST_FINISHED.with_for_update(of=deliveries, skip_locked=True)


def _application(row: sa.Row[Any]) -> Application:
    return Application(
        id=row.id,
        name=row.name,
        url=row.url,
        token_hash=row.token_hash,
        secret=row.secret,
        created_at=row.created_at,
        enabled=bool(row.enabled),
        previous_secret=row.previous_secret,
        previous_secret_until=row.previous_secret_until,
        disabled_reason=row.disabled_reason,
        disabled_at=row.disabled_at,
    )


def _delivery(row: sa.Row[Any], attempts_made: int | None = None) -> Delivery:
    return Delivery(
        seq=row.seq,
        id=row.id,
        application_id=row.application_id,
        context_identifier=row.context_identifier,
        history_id=row.history_id,
        change_type=ChangeType(row.change_type),
        version_name=row.version_name,
        file_version=row.file_version,
        public_endpoint=row.public_endpoint,
        status=DeliveryStatus(row.status),
        attempts=row.attempts,
        next_attempt_at=row.next_attempt_at,
        created_at=row.created_at,
        finished_at=row.finished_at,
        last_status=row.last_status,
        last_error=row.last_error,
        test=bool(row.test),
        attempts_made=attempts_made,
    )


async def enqueue_notifications(
    connection: AsyncConnection, outcome: Outcome, history_id: int, at: datetime
) -> int:
    """Write one outbox row per application that approved the tenant.

    A disabled application's row is `held`: it waits, in order, for `app enable`.
    """
    announcement = outcome.announcement
    if announcement is None:
        return 0
    tenant = outcome.tenant
    approved = await connection.execute(
        sa.select(approvals.c.application_id, applications.c.enabled)
        .join(applications, applications.c.id == approvals.c.application_id)
        .where(approvals.c.context_identifier == tenant.context_identifier)
        .order_by(approvals.c.application_id)
    )
    enabled = {application_id: bool(on) for application_id, on in approved}
    if not enabled:
        return 0
    disabled = [a for a, on in enabled.items() if not on]
    if disabled and connection.dialect.name == "postgresql":
        # Read again under a share lock: an `enable` committing meanwhile would release
        # the held rows before this one commits, and this one would stay held.
        relocked = await connection.execute(
            sa.select(applications.c.id, applications.c.enabled)
            .where(applications.c.id.in_(disabled))
            .with_for_update(read=True)
        )
        enabled.update({application_id: bool(on) for application_id, on in relocked})
    application_ids = list(enabled)
    await hold_outbox_writer_lock(connection)
    await connection.execute(
        deliveries.insert(),
        [
            {
                "id": f"msg_{uuid.uuid4().hex}",
                "application_id": application_id,
                "context_identifier": tenant.context_identifier,
                "history_id": history_id,
                "change_type": int(announcement.change_type),
                "version_name": announcement.version_name,
                "file_version": announcement.file_version,
                "public_endpoint": announcement.public_endpoint,
                "status": _PENDING if enabled[application_id] else _HELD,
                "attempts": 0,
                "next_attempt_at": at,
                "created_at": at,
            }
            for application_id in application_ids
        ],
    )
    return len(application_ids)


async def hold_outbox_writer_lock(connection: AsyncConnection) -> None:
    """Before inserting deliveries on PostgreSQL: hold the writers' lock until commit."""
    if connection.dialect.name == "postgresql":
        await connection.execute(_LOCK_SHARED)


class PushSql:
    """Push persistence; mixed into `SqlStore`, which provides the engines."""

    _engine: AsyncEngine
    _writer: AsyncEngine
    _is_sqlite: bool

    # --- applications -----------------------------------------------------------------

    async def add_application(self, application: Application) -> None:
        """Register an application."""
        async with self._writer.begin() as connection:
            await connection.execute(
                applications.insert().values(
                    id=application.id,
                    name=application.name,
                    url=application.url,
                    token_hash=application.token_hash,
                    secret=application.secret,
                    previous_secret=application.previous_secret,
                    previous_secret_until=application.previous_secret_until,
                    enabled=application.enabled,
                    disabled_reason=application.disabled_reason,
                    disabled_at=application.disabled_at,
                    created_at=application.created_at,
                )
            )

    async def get_application(self, application_id: str) -> Application | None:
        """One application, or None."""
        query = sa.select(applications).where(applications.c.id == application_id)
        async with self._engine.connect() as connection:
            row = (await connection.execute(query)).first()
        return None if row is None else _application(row)

    async def application_by_token_hash(self, token_hash: str) -> Application | None:
        """The application whose API token has this hash, or None."""
        query = sa.select(applications).where(applications.c.token_hash == token_hash)
        async with self._engine.connect() as connection:
            row = (await connection.execute(query)).first()
        return None if row is None else _application(row)

    async def list_applications(self) -> list[Application]:
        """Every application, by id."""
        async with self._engine.connect() as connection:
            rows = await connection.execute(sa.select(applications).order_by(applications.c.id))
            return [_application(row) for row in rows]

    async def update_application(self, application_id: str, **changes: Any) -> Application | None:
        """Change columns of an application; return it as it is now, or None."""
        async with self._writer.begin() as connection:
            result = await connection.execute(
                applications.update().where(applications.c.id == application_id).values(**changes)
            )
            if result.rowcount != 1:
                return None
            row = (
                await connection.execute(
                    sa.select(applications).where(applications.c.id == application_id)
                )
            ).one()
        return _application(row)

    async def approve(self, application_id: str, context_identifier: str, at: datetime) -> bool:
        """Approve; False when the approval existed already."""
        try:
            async with self._writer.begin() as connection:
                await connection.execute(
                    approvals.insert().values(
                        application_id=application_id,
                        context_identifier=context_identifier,
                        approved_at=at,
                    )
                )
        except IntegrityError:
            return False
        return True

    async def revoke(self, application_id: str, context_identifier: str) -> bool:
        """Withdraw an approval; False when there was none."""
        async with self._writer.begin() as connection:
            result = await connection.execute(
                approvals.delete()
                .where(approvals.c.application_id == application_id)
                .where(approvals.c.context_identifier == context_identifier)
            )
        return result.rowcount == 1

    async def is_approved(self, application_id: str, context_identifier: str) -> bool:
        """Whether the tenant has approved the application."""
        query = (
            sa.select(approvals.c.application_id)
            .where(approvals.c.application_id == application_id)
            .where(approvals.c.context_identifier == context_identifier)
        )
        async with self._engine.connect() as connection:
            return (await connection.execute(query)).first() is not None

    async def approved_tenants(self, application_id: str, *, limit: int = 1000) -> list[str]:
        """The tenants that approved the application."""
        query = (
            sa.select(approvals.c.context_identifier)
            .where(approvals.c.application_id == application_id)
            .order_by(approvals.c.context_identifier)
            .limit(limit)
        )
        async with self._engine.connect() as connection:
            return list(await connection.scalars(query))

    # --- the outbox ---------------------------------------------------------------------

    async def claim_deliveries(
        self, now: datetime, *, limit: int, lease: timedelta
    ) -> list[Delivery]:
        """Take due deliveries whose earlier siblings (same application and tenant) are done.

        A claim is a lease: a delivery whose worker died is claimed again after it.
        """
        query = _CLAIM_SQLITE if self._is_sqlite else _CLAIM_LOCKING
        async with self._writer.begin() as connection:
            rows = await connection.execute(query, {"now": now, "limit": limit})
            claimed = [_delivery(row) for row in rows]
            if claimed:
                await connection.execute(
                    _LEASE, {"seqs": [d.seq for d in claimed], "until": now + lease}
                )
        return claimed

    async def record_outcomes(self, outcomes: Sequence[DeliveryOutcome]) -> None:
        """Write attempts and the deliveries' new status, all in one transaction."""
        if not outcomes:
            return
        async with self._writer.begin() as connection:
            await connection.execute(
                delivery_attempts.insert(),
                [
                    {
                        "delivery_seq": o.seq,
                        "at": o.attempt.at,
                        "status_code": o.attempt.status_code,
                        "latency_ms": o.attempt.latency_ms,
                        "error": None if o.attempt.error is None else o.attempt.error[:2000],
                        "response_excerpt": None
                        if o.attempt.response_excerpt is None
                        else o.attempt.response_excerpt[:_EXCERPT],
                    }
                    for o in outcomes
                ],
            )
            # One executemany for the whole batch, not a statement per outcome.
            await connection.execute(
                _RECORD,
                [
                    {
                        "b_seq": o.seq,
                        "b_status": o.status.value,
                        "b_next": o.next_attempt_at or o.attempt.at,
                        "b_finished": None if o.status in _UNFINISHED else o.attempt.at,
                        "b_last_status": o.attempt.status_code,
                        "b_last_error": o.attempt.error,
                    }
                    for o in outcomes
                ],
            )
            for o in outcomes:
                if o.disable_application is not None:
                    owner = sa.select(deliveries.c.application_id).where(deliveries.c.seq == o.seq)
                    await connection.execute(
                        applications.update()
                        .where(applications.c.id == owner.scalar_subquery())
                        .values(
                            enabled=False,
                            disabled_reason=o.disable_application,
                            disabled_at=o.attempt.at,
                        )
                    )
                    # What waits for the application now waits for `app enable`.
                    await connection.execute(
                        deliveries.update()
                        .where(deliveries.c.application_id == owner.scalar_subquery())
                        .where(deliveries.c.status == _PENDING)
                        .values(status=_HELD)
                    )
            retrying = [o.seq for o in outcomes if o.status is DeliveryStatus.PENDING]
            if retrying:
                # A retry of an application disabled meanwhile is held, not left pending.
                off = sa.select(applications.c.id).where(applications.c.enabled.is_(False))
                await connection.execute(
                    deliveries.update()
                    .where(deliveries.c.seq.in_(retrying))
                    .where(deliveries.c.status == _PENDING)
                    .where(deliveries.c.application_id.in_(off))
                    .values(status=_HELD)
                )

    async def enable_application(
        self, application_id: str, now: datetime, *, drop_held: bool = False
    ) -> tuple[Application, int] | None:
        """Enable the application and send its held deliveries, oldest first, or drop them.

        Returns the application and how many deliveries were released (or dropped), or
        None when there is no such application. One transaction: a delivery written
        while it runs is either held and released here, or written pending.
        """
        async with self._writer.begin() as connection:
            result = await connection.execute(
                applications.update()
                .where(applications.c.id == application_id)
                .values(enabled=True, disabled_reason=None, disabled_at=None)
            )
            if result.rowcount != 1:
                return None
            mine = deliveries.c.application_id == application_id
            if drop_held:
                unleased = sa.or_(
                    deliveries.c.claimed_until.is_(None), deliveries.c.claimed_until < now
                )
                waiting = sa.or_(
                    deliveries.c.status == _HELD,
                    sa.and_(deliveries.c.status == _PENDING, unleased),
                )
                changed = await connection.execute(
                    deliveries.update()
                    .where(mine)
                    .where(waiting)
                    .values(
                        status=_DROPPED,
                        finished_at=now,
                        claimed_until=None,
                        last_error="dropped when the application was enabled (--drop-held)",
                    )
                )
            else:
                # The claim sends a pair's deliveries in seq order, so these go oldest
                # first, each after the one before it is done.
                changed = await connection.execute(
                    deliveries.update()
                    .where(mine)
                    .where(deliveries.c.status == _HELD)
                    .values(status=_PENDING, attempts=0, next_attempt_at=now, claimed_until=None)
                )
            row = (
                await connection.execute(
                    sa.select(applications).where(applications.c.id == application_id)
                )
            ).one()
        return _application(row), int(changed.rowcount)

    async def drop_excess_held(self, keep: int, now: datetime) -> dict[str, int]:
        """Drop the oldest held deliveries of each application beyond the newest `keep`.

        Returns how many were dropped, by application.
        """
        over = (
            sa.select(deliveries.c.application_id, sa.func.count())
            .where(deliveries.c.status == _HELD)
            .group_by(deliveries.c.application_id)
            .having(sa.func.count() > keep)
        )
        # Read first: the common answer is "none", and it needs no write transaction.
        async with self._engine.connect() as connection:
            excess = (await connection.execute(over)).all()
        dropped: dict[str, int] = {}
        if not excess:
            return dropped
        async with self._writer.begin() as connection:
            for application_id, count in excess:
                oldest = (
                    sa.select(deliveries.c.seq)
                    .where(deliveries.c.application_id == application_id)
                    .where(deliveries.c.status == _HELD)
                    .order_by(deliveries.c.seq)
                    .limit(int(count) - keep)
                )
                result = await connection.execute(
                    deliveries.update()
                    .where(deliveries.c.seq.in_(oldest))
                    .where(deliveries.c.status == _HELD)
                    .values(
                        status=_DROPPED,
                        finished_at=now,
                        last_error=f"dropped: more than {keep} held while the application "
                        "was disabled",
                    )
                )
                dropped[application_id] = int(result.rowcount)
        return dropped

    async def list_deliveries(
        self,
        *,
        application_id: str | None = None,
        context_identifier: str | None = None,
        status: DeliveryStatus | None = None,
        before_seq: int | None = None,
        limit: int = 100,
    ) -> list[Delivery]:
        """Deliveries, newest first, each with how many attempts it has had."""
        made = (
            sa.select(sa.func.count())
            .where(delivery_attempts.c.delivery_seq == deliveries.c.seq)
            .scalar_subquery()
            .label("attempts_made")
        )
        query = sa.select(deliveries, made).order_by(deliveries.c.seq.desc()).limit(limit)
        if application_id is not None:
            query = query.where(deliveries.c.application_id == application_id)
        if context_identifier is not None:
            query = query.where(deliveries.c.context_identifier == context_identifier)
        if status is not None:
            query = query.where(deliveries.c.status == status.value)
        if before_seq is not None:
            query = query.where(deliveries.c.seq < before_seq)
        async with self._engine.connect() as connection:
            return [_delivery(row, row.attempts_made) for row in await connection.execute(query)]

    async def notification_feed(
        self, application_id: str, *, after_seq: int, limit: int
    ) -> list[Delivery]:
        """The application's deliveries with `seq` above `after_seq`, oldest first.

        Only committed rows below every writer still in flight: a later read never
        finds a row below a seq this one returned (the catch-up cursor has no gaps).
        """
        query = (
            sa.select(deliveries)
            .where(deliveries.c.application_id == application_id)
            .where(deliveries.c.seq > after_seq)
            .order_by(deliveries.c.seq)
            .limit(limit)
        )
        if not self._is_sqlite:
            # SQLite has one writer at a time: seq order is commit order there.
            async with self._writer.begin() as connection:
                await connection.execute(_LOCK_EXCLUSIVE)
                settled = int(await connection.scalar(_LAST_SEQ) or 0)
            query = query.where(deliveries.c.seq <= settled)
        async with self._engine.connect() as connection:
            return [_delivery(row) for row in await connection.execute(query)]

    async def get_delivery(self, delivery_id: str) -> tuple[Delivery, list[Attempt]] | None:
        """One delivery with every attempt, oldest first."""
        async with self._engine.connect() as connection:
            row = (
                await connection.execute(
                    sa.select(deliveries).where(deliveries.c.id == delivery_id)
                )
            ).first()
            if row is None:
                return None
            attempts = await connection.execute(
                sa.select(delivery_attempts)
                .where(delivery_attempts.c.delivery_seq == row.seq)
                .order_by(delivery_attempts.c.id)
            )
            made = [
                Attempt(
                    at=a.at,
                    latency_ms=a.latency_ms,
                    status_code=a.status_code,
                    error=a.error,
                    response_excerpt=a.response_excerpt,
                )
                for a in attempts
            ]
            return _delivery(row, len(made)), made

    async def requeue(self, delivery_ids: Sequence[str], now: datetime) -> int:
        """Send deliveries again from the first step of the schedule; held ones stay held."""
        if not delivery_ids:
            return 0
        async with self._writer.begin() as connection:
            result = await connection.execute(
                deliveries.update()
                .where(deliveries.c.id.in_(list(delivery_ids)))
                .where(deliveries.c.status != _HELD)
                .values(
                    status=_PENDING,
                    attempts=0,
                    next_attempt_at=now,
                    claimed_until=None,
                    finished_at=None,
                )
            )
        return int(result.rowcount)

    async def dead_deliveries_since(
        self, application_id: str, since: datetime, *, limit: int = 1000
    ) -> list[str]:
        """Ids of the application's dead deliveries created at or after `since`, oldest first."""
        query = (
            sa.select(deliveries.c.id)
            .where(deliveries.c.application_id == application_id)
            .where(deliveries.c.status == DeliveryStatus.DEAD.value)
            .where(deliveries.c.created_at >= since)
            .order_by(deliveries.c.seq)
            .limit(limit)
        )
        async with self._engine.connect() as connection:
            return list(await connection.scalars(query))

    async def prune_finished_deliveries(
        self, finished_before: datetime, *, limit: int
    ) -> tuple[int, int]:
        """Delete up to `limit` of the oldest deliveries finished before `finished_before`,
        with their attempts, in one short transaction; (deliveries, attempts) deleted."""
        query = _OLDEST_FINISHED if self._is_sqlite else _OLDEST_FINISHED_LOCKING
        async with self._writer.begin() as connection:
            seqs = list(
                await connection.scalars(query, {"before": finished_before, "limit": limit})
            )
            if not seqs:
                return 0, 0
            finished = (
                sa.select(deliveries.c.seq)
                .where(deliveries.c.seq.in_(seqs))
                .where(deliveries.c.status.in_(_FINISHED))
            )
            attempts = await connection.execute(
                delivery_attempts.delete().where(delivery_attempts.c.delivery_seq.in_(finished))
            )
            removed = await connection.execute(
                deliveries.delete()
                .where(deliveries.c.seq.in_(seqs))
                .where(deliveries.c.status.in_(_FINISHED))
            )
        return int(removed.rowcount), int(attempts.rowcount)

    async def enqueue_test_delivery(
        self,
        application_id: str,
        context_identifier: str,
        change_type: ChangeType,
        *,
        version_name: str,
        file_version: str,
        public_endpoint: str | None,
        at: datetime,
    ) -> Delivery:
        """Queue one test notification for one application; no tenant row is read or written."""
        values = {
            "id": f"msg_{uuid.uuid4().hex}",
            "application_id": application_id,
            "context_identifier": context_identifier,
            "history_id": 0,  # no history row: nothing happened to the tenant
            "change_type": int(change_type),
            "version_name": version_name,
            "file_version": file_version,
            "public_endpoint": public_endpoint,
            "status": _PENDING,
            "attempts": 0,
            "next_attempt_at": at,
            "created_at": at,
            "test": True,
        }
        async with self._writer.begin() as connection:
            await hold_outbox_writer_lock(connection)
            await connection.execute(deliveries.insert().values(**values))
            row = (
                await connection.execute(
                    sa.select(deliveries).where(deliveries.c.id == values["id"])
                )
            ).one()
        return _delivery(row)

    async def outbox_depth(self) -> int:
        """How many deliveries wait to be delivered."""
        query = sa.select(sa.func.count()).where(deliveries.c.status == _PENDING)
        async with self._engine.connect() as connection:
            return int(await connection.scalar(query) or 0)

    async def delivery_counts(self) -> dict[tuple[str, str], int]:
        """Deliveries by (application, status); pending ones that failed before count as
        `retrying`, so a long-failing receiver shows."""
        status = sa.case(
            (
                sa.and_(deliveries.c.status == _PENDING, deliveries.c.attempts > 0),
                sa.literal("retrying"),
            ),
            else_=deliveries.c.status,
        ).label("status")
        query = sa.select(deliveries.c.application_id, status, sa.func.count()).group_by(
            deliveries.c.application_id, status
        )
        async with self._engine.connect() as connection:
            return {(a, s): int(n) for a, s, n in await connection.execute(query)}

    # --- signing keys -------------------------------------------------------------------

    async def signing_keys(self) -> list[StoredSigningKey]:
        """Every stored signing key, oldest first."""
        query = sa.select(signing_keys).order_by(signing_keys.c.created_at)
        async with self._engine.connect() as connection:
            return [
                StoredSigningKey(
                    r.kid,
                    r.algorithm,
                    r.private_key,
                    r.created_at,
                    r.retired_at,
                    r.signs_from or r.created_at,
                )
                for r in await connection.execute(query)
            ]

    async def rotate_signing_key(self, new: StoredSigningKey, *, purge_before: datetime) -> None:
        """Store `new`; the keys signing until then retire when it starts signing."""
        starts = new.signs_from or new.created_at
        column = signing_keys.c.retired_at
        async with self._writer.begin() as connection:
            await connection.execute(
                signing_keys.update()
                .where(sa.or_(column.is_(None), column > starts))
                .values(retired_at=starts)
            )
            await connection.execute(signing_keys.delete().where(column < purge_before))
            await connection.execute(
                signing_keys.insert().values(
                    kid=new.kid,
                    algorithm=new.algorithm,
                    private_key=new.private_key,
                    created_at=new.created_at,
                    signs_from=starts,
                    retired_at=None,
                )
            )
