"""Creating and steering rollouts: validation, the plan, and the store, in that order."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from tenantstatus.lifecycle import InvalidOperation, Operation
from tenantstatus.model import TenantState
from tenantstatus.service.errors import RolloutConflict, RolloutRefused, UnknownRollout
from tenantstatus.service.rollouts.plan import WaveShape
from tenantstatus.service.tenants import TenantService
from tenantstatus.service.tenants.operations import request_from
from tenantstatus.store import (
    Rollout,
    RolloutBusy,
    RolloutDraft,
    RolloutSelector,
    RolloutStore,
)

__all__ = ["RolloutService"]

log = logging.getLogger(__name__)

#: Operations a rollout may carry: any on existing tenants (not provision).
_NOT_ROLLED = frozenset({Operation.PROVISION})


class RolloutService:
    """The one way to create, pause, resume and abort a rollout."""

    def __init__(self, store: RolloutStore, tenants: TenantService) -> None:
        self.tenants = tenants
        self.store = store

    async def create(
        self,
        operation: str,
        parameters: dict[str, object],
        *,
        host: str | None,
        state: str | None,
        version: str | None,
        context_identifiers: list[str] | None,
        start: datetime | None,
        window_end: datetime,
        batch_size: int,
        max_in_progress: int,
        expected_seconds: int,
        message: str | None,
        max_failures: int | None,
        max_failure_percent: float | None,
        actor: str,
    ) -> tuple[Rollout, list[datetime]]:
        """Select, plan and store a rollout; answer it and each wave's instant."""
        request = request_from(operation, parameters)  # InvalidOperation on bad parameters
        if request.operation in _NOT_ROLLED:
            raise InvalidOperation("a rollout runs on existing tenants; provision is not one")
        now = self.tenants.clock.now()
        start = start or now + timedelta(seconds=1)
        if start < now - timedelta(seconds=5):
            raise RolloutRefused("--start lies in the past; leave it out to start now")
        shape = WaveShape(
            start=start,
            window_end=window_end,
            batch_size=batch_size,
            max_in_progress=max_in_progress,
            expected=timedelta(seconds=expected_seconds),
        )
        state_code = None
        if state is not None:
            found = TenantState.from_name(state)
            if found is None:
                raise InvalidOperation(f"unknown state {state!r}")
            state_code = int(found)
        draft = RolloutDraft(
            operation=str(request.operation),
            parameters=parameters,
            selector=RolloutSelector(
                host=host,
                state=state_code,
                version=version,
                context_identifiers=context_identifiers,
            ),
            start_at=start,
            window_end=window_end,
            batch_size=batch_size,
            max_in_progress=max_in_progress,
            expected_seconds=expected_seconds,
            message=message,
            max_failures=max_failures,
            max_failure_percent=max_failure_percent,
        )
        waves: list[datetime] = []

        def plan(count: int) -> list[datetime]:
            waves.extend(shape.instants(count))
            return waves

        try:
            rollout = await self.store.create_rollout(draft, plan, actor=actor, at=now)
        except RolloutBusy as exc:
            raise RolloutConflict(
                f"{exc}; wait for that rollout to end, abort it, or leave those tenants out"
            ) from None
        await self.tenants.refresh_rollout(rollout.id)  # each selected ValidUntil is capped
        self.tenants.schedule_changed.set()
        log.info(
            "rollout %d: %s over %d tenants in %d waves, by %s",
            rollout.id,
            rollout.operation,
            rollout.tenant_count,
            rollout.wave_count,
            actor,
        )
        return rollout, waves

    async def control(self, rollout_id: int, action: str, *, actor: str) -> Rollout:
        """Pause, resume or abort a rollout."""
        try:
            rollout = await self.store.control_rollout(
                rollout_id, action, actor=actor, at=self.tenants.clock.now()
            )
        except ValueError as exc:
            raise RolloutConflict(str(exc)) from None
        if rollout is None:
            raise UnknownRollout(rollout_id)
        await self.tenants.refresh_rollout(rollout_id)
        self.tenants.schedule_changed.set()
        log.info("rollout %d: %s by %s", rollout_id, action, actor)
        return rollout

    async def get(self, rollout_id: int) -> Rollout:
        """One rollout, or `UnknownRollout`."""
        rollout = await self.store.get_rollout(rollout_id)
        if rollout is None:
            raise UnknownRollout(rollout_id)
        return rollout

    def planned_instants(self, rollout: Rollout) -> list[datetime]:
        """Each wave's instant as planned at creation."""
        shape = WaveShape(
            start=rollout.start_at,
            window_end=datetime.max.replace(tzinfo=UTC),  # it fit at creation
            batch_size=rollout.batch_size,
            max_in_progress=rollout.max_in_progress,
            expected=timedelta(seconds=rollout.expected_seconds),
        )
        return shape.instants(rollout.tenant_count)[:1000]
