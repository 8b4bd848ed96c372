"""Tenants with a past: history written through the real store with backdated instants.

The service writes history at the instant an operation runs, so a test that needs 90
days of it writes them the same way (`SqlStore.commit_operation` with the lifecycle
deciding) before the service starts on that database.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from tenantstatus.lifecycle import Operation, OperationRequest, apply
from tenantstatus.model import TenantState
from tenantstatus.store import NoticeDraft, NoticeScope, RolloutDraft, RolloutSelector, SqlStore

Op = Operation


async def run(
    store: SqlStore,
    ctx: str,
    request: OperationRequest,
    at: datetime,
    notice: NoticeDraft | None = None,
) -> None:
    """Run one operation as if at `at`, with its message if `notice`."""
    await store.commit_operation(
        ctx,
        lambda tenant: apply(ctx, tenant, request, now=at),
        actor="seed",
        at=at,
        notice=notice,
    )


def provision(
    ctx: str,
    version: str = "Release 11.8",
    file_version: str = "11.8.0",
    host: str = "sod2.example.com",
) -> OperationRequest:
    return OperationRequest(
        Op.PROVISION,
        endpoint=f"https://{host}/{ctx}",
        state=TenantState.Running,
        version_name=version,
        file_version=file_version,
    )


def upgrade(version: str, file_version: str) -> OperationRequest:
    return OperationRequest(Op.UPGRADE, version_name=version, file_version=file_version)


def day_at(now: datetime, days_ago: int, hour: int, minute: int = 0) -> datetime:
    day = (now - timedelta(days=days_ago)).date()
    return datetime.combine(day, time(hour, minute), tzinfo=UTC)


async def seed_story(store: SqlStore, ctx: str, now: datetime) -> None:
    """90 days of a well-kept tenant: weekly maintenance, two upgrades, one incident,
    and an upgrade planned for tomorrow night."""
    await store.commit_operation(
        ctx,
        lambda tenant: apply(
            ctx,
            tenant,
            OperationRequest(
                Op.PROVISION,
                endpoint=f"https://sod2.example.com/{ctx}",
                state=TenantState.Running,
                version_name="Release 11.8",
                file_version="11.8.0",
            ),
            now=day_at(now, 89, 9),
        ),
        actor="seed",
        at=day_at(now, 89, 9),
    )
    steps: list[tuple[datetime, OperationRequest]] = []
    for days_ago in range(84, 0, -7):
        steps.append((day_at(now, days_ago, 2), OperationRequest(Op.MAINTENANCE_OFFLINE)))
        steps.append((day_at(now, days_ago, 2, 40), OperationRequest(Op.MAINTENANCE_DONE)))
    steps += [
        (day_at(now, 60, 1), upgrade("Release 11.9", "11.9.0")),
        (day_at(now, 60, 1, 50), OperationRequest(Op.UPGRADE_DONE)),
        (day_at(now, 33, 14, 10), OperationRequest(Op.INCIDENT)),
        (day_at(now, 33, 18, 40), OperationRequest(Op.INCIDENT_DONE)),
        (day_at(now, 12, 10), OperationRequest(Op.MAINTENANCE_ONLINE)),
        (day_at(now, 12, 13), OperationRequest(Op.MAINTENANCE_DONE)),
        (day_at(now, 5, 1), upgrade("Release 11.10", "11.10.2")),
        (day_at(now, 5, 2, 15), OperationRequest(Op.UPGRADE_DONE)),
    ]
    for at, request in sorted(steps, key=lambda step: step[0]):
        await run(store, ctx, request, at)
    tomorrow = day_at(now, -1, 2)
    for operation, at, parameters in (
        ("upgrade", tomorrow, {"VersionName": "Release 11.11", "FileVersion": "11.11.0"}),
        ("upgrade-done", tomorrow + timedelta(minutes=45), {}),
    ):
        await store.schedule_operation(
            ctx, operation, parameters, run_at=at, actor="seed", at=now - timedelta(hours=1)
        )


async def seed_upgrading(store: SqlStore, ctx: str, now: datetime) -> None:
    """A tenant 40 days old, upgrading right now."""
    await run(store, ctx, provision(ctx), day_at(now, 40, 11))
    await run(store, ctx, OperationRequest(Op.MAINTENANCE_OFFLINE), day_at(now, 20, 3))
    await run(store, ctx, OperationRequest(Op.MAINTENANCE_DONE), day_at(now, 20, 4, 30))
    await run(store, ctx, upgrade("Release 11.10", "11.10.2"), now - timedelta(minutes=12))


async def seed_suspended(store: SqlStore, ctx: str, now: datetime) -> None:
    """A tenant suspended two and a half days ago, with a maintenance window planned
    before it was (which cannot run from Suspended)."""
    await run(store, ctx, provision(ctx), day_at(now, 70, 8))
    await store.schedule_operation(
        ctx, "maintenance-offline", {}, run_at=now + timedelta(days=1), actor="seed",
        at=now - timedelta(days=3),
    )  # fmt: skip
    await run(store, ctx, OperationRequest(Op.SUSPEND), now - timedelta(days=2, hours=12))


async def seed_announced_upgrade(store: SqlStore, ctx: str, now: datetime) -> None:
    """A tenant upgrading now, announced with a message and two updates since."""
    await run(store, ctx, provision(ctx, "Release 11.11", "11.11.4"), day_at(now, 30, 9))
    started = now - timedelta(minutes=25)
    message = NoticeDraft(
        "Upgrading to Release 11.12. Back by the time below; release notes: "
        "https://docs.example.com/release-notes/11.12.",
        until=now + timedelta(minutes=35),
    )
    await run(store, ctx, upgrade("Release 11.12", "11.12.0"), started, message)
    notice = await store.open_tenant_notice(ctx)
    assert notice is not None
    for minutes, text in (
        (15, "The database schema is migrated; indexes are being rebuilt."),
        (5, "Indexes are done; starting the application servers."),
    ):
        await store.add_notice_update(
            notice.id, text, posted_by="seed", at=now - timedelta(minutes=minutes)
        )


async def seed_host_incident(store: SqlStore, ctxs: list[str], now: datetime) -> None:
    """Tenants on sod5, in an incident that a host-wide notice with an update explains."""
    for ctx in ctxs:
        await run(store, ctx, provision(ctx, host="sod5.example.com"), day_at(now, 50, 9))
        await run(store, ctx, OperationRequest(Op.INCIDENT), now - timedelta(minutes=40))
    notice = await store.post_notice(
        "sod5.example.com is not answering: its storage array failed. We are moving the "
        "tenants to sod6; no data is lost.",
        scope=NoticeScope.HOST,
        host="sod5.example.com",
        posted_by="seed",
        at=now - timedelta(minutes=38),
        until=now + timedelta(hours=1),
    )
    await store.add_notice_update(
        notice.id,
        "The storage array is back in degraded mode; the first tenants answer again.",
        posted_by="seed",
        at=now - timedelta(minutes=10),
    )


async def seed_dense(
    store: SqlStore, ctx: str, now: datetime, *, days: int = 90, every: timedelta
) -> int:
    """A tenant whose state changes every `every` for `days` days; returns the row count."""
    start = now - timedelta(days=days)
    await run(store, ctx, provision(ctx), start)
    at, rows, online = start + every, 1, False
    while at < now:
        request = OperationRequest(Op.MAINTENANCE_DONE if online else Op.MAINTENANCE_ONLINE)
        await run(store, ctx, request, at)
        online = not online
        at += every
        rows += 1
    return rows


async def seed_rollout(store: SqlStore, ctxs: list[str], now: datetime) -> None:
    """Tenants on rollout.example.com, and a rollout over them planned in 20 days (the
    overview shows it under way, with a message that must be escaped)."""
    for ctx in ctxs:
        await run(store, ctx, provision(ctx, host="rollout.example.com"), now)
    start = now + timedelta(days=20)
    draft = RolloutDraft(
        operation="upgrade",
        parameters={"VersionName": "Release 11.13", "FileVersion": "11.13.0"},
        selector=RolloutSelector(host="rollout.example.com"),
        start_at=start,
        window_end=start + timedelta(hours=4),
        batch_size=2,
        max_in_progress=2,
        expected_seconds=900,
        message="<b>Rolling</b> out 11.13",
    )
    await store.create_rollout(
        draft,
        lambda n: [start + timedelta(minutes=15 * k) for k in range(-(-n // 2))],
        actor="seed",
        at=now,
    )
