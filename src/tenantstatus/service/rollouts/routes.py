"""The operator API for rollouts, under `/admin/rollouts`."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query

from tenantstatus.service.access import Operator
from tenantstatus.service.rollouts.schemas import (
    EventOut,
    MemberOut,
    RolloutCreate,
    RolloutDetail,
    RolloutOut,
    RolloutPage,
)
from tenantstatus.service.rollouts.service import RolloutService
from tenantstatus.service.services import ServicesDep
from tenantstatus.store import RolloutPhase

__all__ = ["router"]

_PROBLEM: dict[str, object] = {"content": {"application/problem+json": {}}}
_ERRORS: dict[int | str, dict[str, object]] = {
    401: {"description": "Missing or wrong operator token", **_PROBLEM},
    422: {"description": "Invalid request", **_PROBLEM},
}
_NOT_FOUND: dict[int | str, dict[str, object]] = {
    404: {"description": "No such rollout", **_PROBLEM},
    409: {"description": "The rollout's state refuses the action", **_PROBLEM},
}


def _service(services: ServicesDep) -> RolloutService:
    return services.rollouts


Service = Annotated[RolloutService, Depends(_service)]
RolloutId = Annotated[int, Path(alias="RolloutId", ge=1, le=2**62, description="The rollout's id.")]

router = APIRouter(prefix="/admin/rollouts", tags=["operator"], responses=_ERRORS)


@router.post(
    "",
    status_code=201,
    summary="Create a rollout",
    responses={
        409: {"description": "Selected tenants are in an unfinished rollout", **_PROBLEM},
        422: {"description": "Invalid request, or a plan that does not fit its window", **_PROBLEM},
    },
)
async def create_rollout(body: RolloutCreate, service: Service, operator: Operator) -> RolloutOut:
    """Resolve the selection now, plan its waves and store one scheduled operation per
    tenant; answer the count and each wave's planned instant.
    """
    select = body.Select
    rollout, waves = await service.create(
        str(body.Operation),
        body.parameters(),
        host=select.Host,
        state=select.State,
        version=select.Version,
        context_identifiers=select.ContextIdentifiers,
        start=body.Start,
        window_end=body.WindowEnd,
        batch_size=body.BatchSize,
        max_in_progress=body.MaxInProgress,
        expected_seconds=body.ExpectedDuration,
        message=body.Message,
        max_failures=body.MaxFailures,
        max_failure_percent=body.MaxFailurePercent,
        actor=operator.actor,
    )
    return RolloutOut.of(rollout, waves)


@router.get("", summary="List rollouts")
async def list_rollouts(
    services: ServicesDep,
    _operator: Operator,
    unfinished: Annotated[bool, Query(description="Only rollouts not done or aborted.")] = False,
    before: Annotated[int | None, Query(ge=1, le=2**62, description="Ids below this.")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> RolloutPage:
    """Rollouts newest first, with their progress."""
    found = await services.store.list_rollouts(
        unfinished=unfinished, before=before, limit=limit + 1
    )
    page = found[:limit]
    return RolloutPage(
        Rollouts=[RolloutOut.of(r) for r in page],
        Next=page[-1].id if len(found) > limit else None,
    )


@router.get("/{RolloutId}", summary="Show a rollout", responses={404: _NOT_FOUND[404]})
async def get_rollout(
    rollout_id: RolloutId, service: Service, services: ServicesDep, _operator: Operator
) -> RolloutDetail:
    """A rollout with its progress, its waves, its late and refused tenants and its history."""
    return await _detail(service, services, rollout_id)


async def _detail(service: RolloutService, services: ServicesDep, rollout_id: int) -> RolloutDetail:
    rollout = await service.get(rollout_id)
    attention = await services.store.rollout_members(
        rollout_id,
        (RolloutPhase.LATE, RolloutPhase.DONE_LATE, RolloutPhase.REFUSED),
        limit=100,
    )
    events = await services.store.rollout_events(rollout_id=rollout_id, limit=100)
    base = RolloutOut.of(rollout, service.planned_instants(rollout))
    return RolloutDetail(
        **base.model_dump(),
        Attention=[MemberOut.of(m) for m in attention],
        History=[EventOut.of(e) for e in events],
    )


def _control(action: str, summary: str, doc: str) -> None:
    async def control(
        rollout_id: RolloutId, service: Service, services: ServicesDep, operator: Operator
    ) -> RolloutDetail:
        await service.control(rollout_id, action, actor=operator.actor)
        return await _detail(service, services, rollout_id)

    control.__doc__ = doc
    router.post(
        f"/{{RolloutId}}/{action}",
        summary=summary,
        responses=_NOT_FOUND,
        operation_id=f"{action}_rollout",
    )(control)


_control("pause", "Pause a rollout", "Release no more waves; released tenants not yet run wait.")
_control("resume", "Resume a paused rollout", "Release waves again; failures so far are forgiven.")
_control(
    "abort",
    "Abort a rollout",
    "Cancel every tenant not started; tenants in progress finish. The rollout ends.",
)
