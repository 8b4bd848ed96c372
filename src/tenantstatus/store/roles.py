"""What each part of the service needs of the store: one protocol per role.

`SqlStore` implements every one of them, on SQLite and PostgreSQL; each service is
typed against its role only, so a test can hand it anything that plays the role.

    TenantStore     tenants, their history, the schedule, and changes by other nodes
    SettingsStore   service settings (the operator token's hash)
    PushStore       applications, approvals and deliveries, for the operator API
    KeyStore        the notification signing keys
    Outbox          what the dispatcher claims and records
    FinishedDeliveries  what retention prunes: finished deliveries and their attempts
    StatusReads     what the status pages read
    PortalStore     the vendor portal's sessions, single-use links and its reads
    NoticeStore     operator messages (notices) and their updates
    ServiceStore    all of the above, with the store's own lifecycle: the composition root's
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, Protocol

from tenantstatus.lifecycle import Outcome, Tenant
from tenantstatus.model import ChangeType, TenantState
from tenantstatus.store.base import HistoryEntry, ImportResult, ScheduledOperation, ScheduleStatus
from tenantstatus.store.calendar_sql import CalendarData
from tenantstatus.store.notice_records import Notice, NoticeDraft, NoticeResolution, NoticeScope
from tenantstatus.store.portal_sql import CustomerPage
from tenantstatus.store.push_records import (
    Application,
    Attempt,
    Delivery,
    DeliveryOutcome,
    DeliveryStatus,
    StoredSigningKey,
)
from tenantstatus.store.rollout_records import (
    Rollout,
    RolloutDraft,
    RolloutEvent,
    RolloutMember,
    RolloutPhase,
)
from tenantstatus.store.rollout_sql import ConductStep
from tenantstatus.store.status_sql import StateChange, StateWindow, TenantPage, TenantPageData

__all__ = [
    "FinishedDeliveries",
    "KeyStore",
    "NoticeStore",
    "Outbox",
    "PortalStore",
    "PushStore",
    "RolloutStore",
    "ServiceStore",
    "SettingsStore",
    "StatusReads",
    "TenantStore",
]


class TenantStore(Protocol):
    """Persistence for tenants, their history and scheduled operations.

    Every method is atomic. `commit_operation` is the one place where a lifecycle
    decision and its records are written together.
    """

    async def get_tenant(self, context_identifier: str) -> Tenant | None:
        """The tenant, or None."""

    async def get_tenants(self, context_identifiers: Sequence[str]) -> dict[str, Tenant]:
        """The tenants of those that exist, by ContextIdentifier, in one read."""

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
        """Read the tenant, let `decide` run the lifecycle, write tenant and history at once.

        With `scheduled_id`, that scheduled operation is marked done in the same
        transaction, and nothing happens unless it was still pending. With `notice`,
        the operation's message is written in the same transaction too.
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
        notice: NoticeDraft | None = None,
    ) -> ScheduledOperation:
        """Record an operation to run at `run_at`, with its message if `notice`."""

    async def get_scheduled(self, scheduled_id: int) -> ScheduledOperation | None:
        """One scheduled operation, or None."""

    async def list_scheduled(
        self,
        *,
        context_identifier: str | None = None,
        status: ScheduleStatus | None = ScheduleStatus.PENDING,
        limit: int = 100,
        runnable: bool = False,
    ) -> list[ScheduledOperation]:
        """Scheduled operations, soonest first; `runnable`: not held for a rollout's wave."""

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

    async def next_scheduled_of(self, context_identifiers: Sequence[str]) -> dict[str, datetime]:
        """The earliest pending instant of each of these tenants that has one."""

    def rollout_next_scheduled(
        self, rollout_id: int, *, batch_size: int = 500
    ) -> AsyncIterator[list[tuple[str, datetime | None]]]:
        """Each tenant of a rollout with its earliest pending instant, in batches."""

    def changes(self) -> AsyncGenerator[str, None]:
        """ContextIdentifiers other processes change, as they commit; `ALL_TENANTS` to catch up.

        On SQLite, where one process serves the API, it never yields.
        """


class SettingsStore(Protocol):
    """Service settings that live in the database."""

    async def get_setting(self, key: str) -> str | None:
        """A service setting, or None."""

    async def put_setting(self, key: str, value: str) -> None:
        """Store `value` under the key, replacing what was there."""

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

    async def drop_excess_held(self, keep: int, now: datetime) -> dict[str, int]:
        """Drop each application's oldest held deliveries beyond `keep`; count by application."""
        ...


class FinishedDeliveries(Protocol):
    """What the retention sweep needs: delete finished deliveries past their time."""

    async def prune_finished_deliveries(
        self, finished_before: datetime, *, limit: int
    ) -> tuple[int, int]:
        """Delete up to `limit` deliveries finished before the instant, and their attempts;
        pending ones never. Returns (deliveries, attempts) deleted."""
        ...


class PushStore(Protocol):
    """Applications, their approvals and their deliveries: what the operator API manages."""

    async def add_application(self, application: Application) -> None:
        """Register an application."""

    async def get_application(self, application_id: str) -> Application | None:
        """One application, or None."""

    async def application_by_token_hash(self, token_hash: str) -> Application | None:
        """The application whose API token has this hash, or None."""

    async def list_applications(self) -> list[Application]:
        """Every application, by id."""

    async def update_application(self, application_id: str, **changes: Any) -> Application | None:
        """Change columns of an application; return it as it is now, or None."""

    async def enable_application(
        self, application_id: str, now: datetime, *, drop_held: bool = False
    ) -> tuple[Application, int] | None:
        """Enable; release its held deliveries (or drop them) in the same transaction."""

    async def approve(self, application_id: str, context_identifier: str, at: datetime) -> bool:
        """Approve; False when the approval existed already."""

    async def revoke(self, application_id: str, context_identifier: str) -> bool:
        """Withdraw an approval; False when there was none."""

    async def is_approved(self, application_id: str, context_identifier: str) -> bool:
        """Whether the tenant has approved the application."""

    async def approved_tenants(self, application_id: str, *, limit: int = 1000) -> list[str]:
        """The tenants that approved the application."""

    async def list_deliveries(
        self,
        *,
        application_id: str | None = None,
        context_identifier: str | None = None,
        status: DeliveryStatus | None = None,
        before_seq: int | None = None,
        limit: int = 100,
    ) -> list[Delivery]:
        """Deliveries, newest first."""

    async def get_delivery(self, delivery_id: str) -> tuple[Delivery, list[Attempt]] | None:
        """One delivery with every attempt, oldest first."""

    async def notification_feed(
        self, application_id: str, *, after_seq: int, limit: int
    ) -> list[Delivery]:
        """The application's committed deliveries after `after_seq`, oldest first, no gaps."""

    async def requeue(self, delivery_ids: Sequence[str], now: datetime) -> int:
        """Send deliveries again from the first step of the schedule; held ones stay held."""

    async def dead_deliveries_since(
        self, application_id: str, since: datetime, *, limit: int = 1000
    ) -> list[str]:
        """Ids of the application's dead deliveries created at or after `since`, oldest first."""

    async def delivery_counts(self) -> dict[tuple[str, str], int]:
        """Deliveries by (application, status)."""

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
        """Queue one test notification for one application; no tenant changes."""


class KeyStore(Protocol):
    """The notification signing keys, sealed."""

    async def signing_keys(self) -> list[StoredSigningKey]:
        """Every stored signing key, oldest first."""

    async def rotate_signing_key(self, new: StoredSigningKey, *, purge_before: datetime) -> None:
        """Store `new`; the keys signing until then retire when it starts signing.

        Keys that would still sign after `new.signs_from` retire at that instant (so the
        spans in which keys sign never overlap); keys retired before `purge_before` go.
        """


class StatusReads(Protocol):
    """What the status pages read; every read seeks an index."""

    async def state_window(
        self, context_identifier: str, since: datetime, until: datetime | None = None
    ) -> StateWindow:
        """The tenant's state just before `since` and its transitions in [since, until)."""

    async def tenant_page_data(
        self,
        context_identifier: str,
        *,
        checkpoint: datetime,
        known_id: int | None,
        recent: int,
    ) -> TenantPageData | None:
        """Everything the tenant page reads, on one connection."""

    async def recent_changes(
        self, *, context_identifier: str | None = None, limit: int = 50
    ) -> list[StateChange]:
        """The newest history rows, newest first: of one tenant, or of every tenant."""

    async def calendar_data(
        self,
        context_identifier: str | None,
        *,
        finished_since: datetime,
        limit: int,
        window_operations: Sequence[str] = (),
    ) -> CalendarData:
        """The scheduled operations a calendar shows, with their tenants and notices."""

    async def tenant_page(
        self,
        *,
        state: TenantState | None = None,
        prefix: str | None = None,
        after: str | None = None,
        before: str | None = None,
        limit: int = 50,
    ) -> TenantPage:
        """A page of tenants in ContextIdentifier order (keyset pagination)."""


class PortalStore(Protocol):
    """The vendor portal: sessions and links kept by hash, customers, attempts by page."""

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

    async def portal_session(self, token_hash: str, now: datetime) -> str | None:
        """The application a live session belongs to, or None."""

    async def portal_application(self, token_hash: str, now: datetime) -> Application | None:
        """The application of a live session, read with the session in one statement."""

    async def end_portal_session(self, token_hash: str) -> bool:
        """Forget a session (logout); False when there was none."""

    async def add_portal_link(
        self, token_hash: str, application_id: str, *, now: datetime, expires_at: datetime
    ) -> None:
        """Store a single-use link; expired links go at the same time."""

    async def use_portal_link(
        self,
        link_hash: str,
        session_hash: str,
        *,
        now: datetime,
        expires_at: datetime,
        keep: int,
    ) -> str | None:
        """Spend a live, unused link and open a session, atomically; the application or None."""

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

    async def customer_counts(self, application_id: str) -> dict[TenantState, int]:
        """How many of the application's customers are in each state."""

    async def delivery_page(
        self,
        application_id: str,
        *,
        status: DeliveryStatus | None = None,
        before_seq: int | None = None,
        limit: int = 25,
    ) -> list[tuple[Delivery, list[Attempt]]]:
        """The application's deliveries newest first, each with every attempt, oldest first."""


class NoticeStore(Protocol):
    """Operator messages: stored once whatever they cover, read per tenant."""

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

    async def add_notice_update(
        self,
        notice_id: int,
        body: str,
        *,
        posted_by: str,
        at: datetime,
        until: datetime | None = None,
    ) -> Notice | None:
        """Add an update (and a new expected end, if given); None if no such open notice."""

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

    async def get_notice(self, notice_id: int) -> Notice | None:
        """One notice with its updates and, for a list notice, its tenants."""

    async def list_notices(
        self, *, open_only: bool = True, before_id: int | None = None, limit: int = 100
    ) -> list[Notice]:
        """Notices newest first (open ones only, unless `open_only` is False)."""

    async def tenant_notices(
        self,
        context_identifier: str,
        *,
        resolved_since: datetime | None = None,
        limit: int = 20,
    ) -> list[Notice]:
        """The notices shown for one tenant, newest first, each with its updates."""

    async def open_tenant_notice(self, context_identifier: str) -> Notice | None:
        """The tenant's own newest open notice: what `tenant note` adds to."""


class RolloutStore(Protocol):
    """Rollouts: the frozen selection, its waves, the conductor's steps and the history."""

    async def create_rollout(
        self,
        draft: RolloutDraft,
        plan: Callable[[int], Sequence[datetime]],
        *,
        actor: str,
        at: datetime,
    ) -> Rollout:
        """Select, plan (raising to refuse) and store a rollout; `RolloutBusy` on overlap."""

    async def get_rollout(self, rollout_id: int) -> Rollout | None:
        """One rollout with its progress, or None."""

    async def list_rollouts(
        self, *, unfinished: bool = False, before: int | None = None, limit: int = 50
    ) -> list[Rollout]:
        """Rollouts newest first, with their progress."""

    async def rollout_members(
        self, rollout_id: int, phases: Sequence[RolloutPhase], *, limit: int = 100
    ) -> list[RolloutMember]:
        """The tenants of a rollout in `phases`, by instant."""

    async def rollout_events(
        self, *, rollout_id: int | None = None, limit: int = 100
    ) -> list[RolloutEvent]:
        """Rollout history newest first."""

    async def control_rollout(
        self, rollout_id: int, action: str, *, actor: str, at: datetime
    ) -> Rollout | None:
        """Pause, resume or abort (`ValueError` when not possible); None if unknown."""

    async def unfinished_rollout_ids(self) -> list[int]:
        """The rollouts not done and not aborted."""

    async def conduct_rollout(
        self, rollout_id: int, *, now: datetime, hold_for: timedelta
    ) -> ConductStep:
        """One conductor step of a rollout, in one transaction."""


class ServiceStore(
    TenantStore,
    SettingsStore,
    Outbox,
    FinishedDeliveries,
    PushStore,
    KeyStore,
    StatusReads,
    PortalStore,
    NoticeStore,
    RolloutStore,
    Protocol,
):
    """Every role, and the store's own lifecycle: what the composition root holds."""

    @property
    def dialect(self) -> str:
        """The database's dialect name: `sqlite` or `postgresql`."""

    async def open(self) -> None:
        """Connect and bring the schema to the newest migration."""

    async def close(self) -> None:
        """Release every connection."""

    async def ping(self) -> None:
        """Raise `StoreUnavailable` unless the database answers."""
