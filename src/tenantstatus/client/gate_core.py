"""The gate's sans-I/O core: which tenants may be called now, and what changed.

`GateCore` combines what the state API says (pull) with what notifications say (push).
A notification pauses a tenant at once (Upgrade, Suspend, Delete), before its state
answer expires; the pause ends with a Resume notification, or when a pull made after
the pause shows the tenant running again after it was seen down (or after
`resume_after`, for an upgrade announced ahead that never showed as down).

Each observation yields `TenantEvent`s (pause, resume, move, delete) that the shells
hand to the vendor's callbacks.
"""

from __future__ import annotations

import enum
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timedelta

from tenantstatus.client.cache import PulledStatus
from tenantstatus.client.errors import TenantNotRunning
from tenantstatus.client.verifier_core import VerifiedNotification
from tenantstatus.clock import Clock
from tenantstatus.model import ChangeType, StateChangeNotification, TenantState, TenantStatus

__all__ = ["GateCore", "NotificationEffect", "TenantEvent", "TenantEventKind"]


class TenantEventKind(enum.Enum):
    """What the gate tells the vendor's callbacks."""

    PAUSE = "pause"
    RESUME = "resume"
    MOVE = "move"
    DELETE = "delete"


@dataclass(frozen=True, slots=True)
class TenantEvent:
    """A change in whether or where a tenant can be called, and what revealed it."""

    kind: TenantEventKind
    context_identifier: str
    status: TenantStatus | None = None
    notification: StateChangeNotification | None = None

    @property
    def endpoint(self) -> str | None:
        """The tenant's Endpoint as the state API gave it (None when only pushed)."""
        return None if self.status is None else self.status.endpoint


@dataclass(frozen=True, slots=True)
class NotificationEffect:
    """What the shell does after `GateCore.apply`: callbacks, then cache work."""

    events: tuple[TenantEvent, ...]
    #: Drop the cached answer (Delete).
    forget: bool = False
    #: Ask the service again right away (Resume, Move, BackupRestored, unknown types).
    repull: bool = False


# The state a paused tenant is reported in, until the state API says more.
_PAUSED_AS = {
    ChangeType.Upgrade: TenantState.OfflineMaintenance.name,
    ChangeType.Suspend: TenantState.Suspended.name,
    ChangeType.Delete: TenantState.Deleting.name,
}


@dataclass(slots=True)
class _Pause:
    change_type: ChangeType
    since: datetime
    seen_down: bool = False


class GateCore:
    """Pauses from notifications and the last observed state per tenant."""

    def __init__(self, clock: Clock, *, resume_after: timedelta, max_tenants: int = 10_000) -> None:
        self.clock = clock
        self.resume_after = resume_after
        self.max_tenants = max_tenants
        self._paused: dict[str, _Pause] = {}
        self._observed: OrderedDict[str, tuple[bool, str, str]] = OrderedDict()

    def is_paused(self, context_identifier: str) -> bool:
        """True while a notification holds the tenant paused."""
        return context_identifier in self._paused

    def observe(self, status: PulledStatus) -> list[TenantEvent]:
        """Take a pulled answer into account; the events it reveals."""
        ctx = status.context_identifier
        events: list[TenantEvent] = []
        pause = self._paused.get(ctx)
        if pause is not None and not status.stale:
            fetched_after = status.fetched_at is None or status.fetched_at >= pause.since
            if not status.is_running:
                pause.seen_down = pause.seen_down or fetched_after
            elif fetched_after and (
                pause.seen_down or self.clock.now() - pause.since >= self.resume_after
            ):
                del self._paused[ctx]
                events.append(TenantEvent(TenantEventKind.RESUME, ctx, status))
        previous = self._observed.get(ctx)
        self._observed[ctx] = (status.is_running, status.endpoint, status.state_name)
        self._observed.move_to_end(ctx)
        while len(self._observed) > self.max_tenants:
            self._observed.popitem(last=False)
        if previous is None:
            return events
        was_running, old_endpoint, old_state = previous
        paused = ctx in self._paused
        if was_running and not status.is_running and pause is None:
            events.append(TenantEvent(TenantEventKind.PAUSE, ctx, status))
        if not was_running and status.is_running and not paused and pause is None:
            events.append(TenantEvent(TenantEventKind.RESUME, ctx, status))
        if status.endpoint and old_endpoint and status.endpoint != old_endpoint:
            events.append(TenantEvent(TenantEventKind.MOVE, ctx, status))
        deleted = TenantState.Deleted.name
        if status.state_name == deleted and old_state != deleted:
            events.append(TenantEvent(TenantEventKind.DELETE, ctx, status))
        return events

    def refusal(self, status: PulledStatus) -> TenantNotRunning | None:
        """Why the tenant may not be called now, or None when it may."""
        ctx = status.context_identifier
        pause = self._paused.get(ctx)
        if pause is not None:
            return TenantNotRunning(
                ctx,
                _PAUSED_AS[pause.change_type],
                reason=f"paused by a {pause.change_type.name} notification",
            )
        if not status.is_running:
            return TenantNotRunning(ctx, status.state_name, retry_at=status.valid_until)
        return None

    def apply(
        self, notification: StateChangeNotification | VerifiedNotification
    ) -> NotificationEffect:
        """Take a (verified) notification into account."""
        if isinstance(notification, VerifiedNotification):
            notification = notification.notification
        ctx = notification.context_identifier
        change = notification.known_change_type
        if change is not None and change in _PAUSED_AS:
            already = ctx in self._paused
            self._paused[ctx] = _Pause(change, self.clock.now())
            if change is ChangeType.Delete:
                self._note(ctx, running=False, state_name=TenantState.Deleted.name)
                event = TenantEvent(TenantEventKind.DELETE, ctx, notification=notification)
                return NotificationEffect((event,), forget=True)
            if already:
                return NotificationEffect(())
            event = TenantEvent(TenantEventKind.PAUSE, ctx, notification=notification)
            return NotificationEffect((event,))
        if change is ChangeType.Resume and self._paused.pop(ctx, None) is not None:
            self._note(ctx, running=True)
            event = TenantEvent(TenantEventKind.RESUME, ctx, notification=notification)
            return NotificationEffect((event,), repull=True)
        # Resume of a tenant not paused here, Move, BackupRestored, or a type this version
        # does not know: the state API tells the rest (a move shows as a new Endpoint).
        return NotificationEffect((), repull=True)

    def _note(self, ctx: str, *, running: bool, state_name: str | None = None) -> None:
        """Record what a notification said, so the next pull does not announce it again."""
        _, endpoint, old_state = self._observed.get(ctx, (running, "", ""))
        self._observed[ctx] = (running, endpoint, state_name or old_state)
