"""The operator API under `/admin`: tenants, their operations and the schedule."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Response
from starlette.exceptions import HTTPException

from tenantstatus.lifecycle import OperationRequest
from tenantstatus.model import TenantState
from tenantstatus.service.access import Operator
from tenantstatus.service.errors import UnknownScheduledOperation, UnknownTenant
from tenantstatus.service.notices import NoticeOut
from tenantstatus.service.parameters import ContextPath
from tenantstatus.service.services import ServicesDep
from tenantstatus.service.tenants.operations import request_from
from tenantstatus.service.tenants.schemas import (
    ContextId,
    HistoryOut,
    ImportBody,
    ImportOut,
    OperationBody,
    OperationResult,
    ScheduledOut,
    ScheduledPage,
    TenantCreate,
    TenantDetail,
    TenantOut,
    TenantPage,
)
from tenantstatus.service.tenants.service import ImportItem, TenantService
from tenantstatus.store import NoticeDraft, ScheduleStatus

__all__ = ["router"]

_PROBLEM: dict[str, object] = {"content": {"application/problem+json": {}}}
_ERRORS: dict[int | str, dict[str, object]] = {
    401: {"description": "Missing or wrong operator token", **_PROBLEM},
    422: {"description": "Invalid request", **_PROBLEM},
}


def _service(services: ServicesDep) -> TenantService:
    return services.tenants


Service = Annotated[TenantService, Depends(_service)]
ScheduledId = Annotated[
    int, Path(alias="ScheduledId", ge=1, le=2**62, description="Id of the scheduled operation.")
]
HistoryQuery = Annotated[
    int, Query(ge=0, le=1000, description="How many history rows, newest first.")
]
StateQuery = Annotated[
    str | None,
    Query(
        max_length=32,
        description="Only tenants in this state (a state name; an unknown one is 400).",
        json_schema_extra={"enum": [s.name for s in TenantState]},
    ),
]

router = APIRouter(prefix="/admin", tags=["operator"], responses=_ERRORS)


async def _run_or_schedule(
    service: Service,
    response: Response,
    context_identifier: str,
    request: OperationRequest,
    at: datetime | None,
    actor: str,
    notice: NoticeDraft | None,
) -> OperationResult | ScheduledOut:
    if at is not None:
        scheduled = await service.schedule(
            context_identifier, request, run_at=at, actor=actor, notice=notice
        )
        response.status_code = 202
        return ScheduledOut.of(scheduled)
    outcome, entry = await service.run(context_identifier, request, actor=actor, notice=notice)
    return OperationResult(Tenant=TenantOut.of(outcome.tenant), History=HistoryOut.of(entry))


@router.post(
    "/tenants",
    status_code=201,
    summary="Provision a tenant",
    responses={
        201: {"description": "The tenant was created; its state answer changes at once."},
        202: {"model": ScheduledOut, "description": "Scheduled for At"},
        409: {"description": "The tenant exists already", **_PROBLEM},
        422: {
            "description": "Invalid request, or a request the lifecycle refuses (e.g. At in "
            "the past)",
            **_PROBLEM,
        },
    },
)
async def create_tenant(
    body: TenantCreate, service: Service, operator: Operator, response: Response
) -> OperationResult | ScheduledOut:
    """Create a tenant in Provisioning (or the State given), now or at `At`.

    The state API answers for it at once. With `At`, the operation is scheduled
    instead and the answer is 202 with the scheduled operation.
    """
    request = request_from("provision", body.parameters())
    return await _run_or_schedule(
        service, response, body.ContextIdentifier, request, body.At, operator.actor, body.notice()
    )


@router.get(
    "/tenants",
    summary="List tenants",
    responses={400: {"description": "Unknown state name", **_PROBLEM}},
)
async def list_tenants(
    service: Service,
    operator: Operator,
    state: StateQuery = None,
    after: Annotated[
        str | None, Query(max_length=64, description="The previous page's Next")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> TenantPage:
    """A page of tenants, ordered by ContextIdentifier, optionally only those in one state.

    Pass the answer's `Next` as `after` for the next page; `Next` is null on the last.
    """
    wanted = None
    if state is not None:
        wanted = TenantState.from_name(state)
        if wanted is None:
            names = ", ".join(s.name for s in TenantState)
            raise HTTPException(400, f"unknown state {state!r}; known: {names}")
    page = await service.store.list_tenants(state=wanted, after=after, limit=limit + 1)
    more = len(page) > limit
    page = page[:limit]
    return TenantPage(
        Tenants=[TenantOut.of(t) for t in page],
        Next=page[-1].context_identifier if more else None,
    )


@router.post("/tenants/import", summary="Import tenants in bulk")
async def import_tenants(body: ImportBody, service: Service, operator: Operator) -> ImportOut:
    """Create many tenants in one transaction (at most 10,000 a request).

    Tenants that exist already are skipped, not changed, so an import can be re-run.
    """
    items = [
        ImportItem(item.ContextIdentifier, request_from("provision", item.parameters()))
        for item in body.Tenants
    ]
    result = await service.import_tenants(items, actor=operator.actor)
    return ImportOut(Created=result.created, Skipped=result.skipped)


_IMPORT = "import"
_NOTICES_SHOWN = 10


@router.get(
    "/tenants/import",
    summary="Show the tenant named import",
    responses={404: {"description": "No tenant is named import"}},
)
async def show_tenant_named_import(
    service: Service,
    services: ServicesDep,
    operator: Operator,
    history: HistoryQuery = 50,
) -> TenantDetail:
    """The tenant whose ContextIdentifier is `import`, as `/admin/tenants/{ContextIdentifier}`
    shows any tenant.

    `import` is a valid ContextIdentifier, and this path is also the bulk import's (POST).
    OpenAPI matches a path that is spelled out before a template, so GET is declared here
    too: the document, the `Allow` header and the answers agree.
    """
    return await show_tenant(_IMPORT, service, services, operator, history)


@router.get(
    "/tenants/{ContextIdentifier}",
    summary="Show a tenant",
    responses={404: {"description": "No such tenant"}},
)
async def show_tenant(
    context_identifier: ContextPath,
    service: Service,
    services: ServicesDep,
    operator: Operator,
    history: HistoryQuery = 50,
) -> TenantDetail:
    """One tenant, its `history` newest history rows, its pending scheduled operations
    and its 10 newest notices."""
    tenant = await service.store.get_tenant(context_identifier)
    if tenant is None:
        raise UnknownTenant(context_identifier)
    entries = await service.store.history(context_identifier, limit=history)
    scheduled = await service.store.list_scheduled(context_identifier=context_identifier)
    notices = await services.store.tenant_notices(context_identifier, limit=_NOTICES_SHOWN)
    return TenantDetail(
        Tenant=TenantOut.of(tenant),
        History=[HistoryOut.of(e) for e in entries],
        Scheduled=[ScheduledOut.of(s) for s in scheduled],
        Notices=[NoticeOut.of(n) for n in notices],
    )


@router.post(
    "/tenants/{ContextIdentifier}/operations",
    summary="Run a lifecycle operation",
    responses={
        202: {"model": ScheduledOut, "description": "Scheduled for At"},
        404: {"description": "No such tenant"},
        409: {"description": "Not allowed from the tenant's state", **_PROBLEM},
        422: {
            "description": "Invalid request, or parameters the operation needs are missing "
            "(upgrade: VersionName and FileVersion; move: a new Endpoint), or At is past",
            **_PROBLEM,
        },
    },
)
async def run_operation(
    context_identifier: ContextPath,
    body: OperationBody,
    service: Service,
    operator: Operator,
    response: Response,
) -> OperationResult | ScheduledOut:
    """Run a lifecycle operation on a tenant, now or (with `At`) later.

    Which operations the tenant's state allows is in its `AllowedOperations`; any other
    is refused with 409. Operations that announce a change (upgrade, suspend, resume,
    delete, move, restore-done) queue notifications to approved applications.
    """
    request = request_from(str(body.Operation), body.parameters())
    return await _run_or_schedule(
        service, response, context_identifier, request, body.At, operator.actor, body.notice()
    )


@router.get("/schedule", summary="List scheduled operations")
async def list_schedule(
    service: Service,
    operator: Operator,
    context_identifier: Annotated[ContextId | None, Query()] = None,
    status: ScheduleStatus | None = ScheduleStatus.PENDING,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> ScheduledPage:
    """Scheduled operations, soonest first: pending ones unless `status` says otherwise."""
    found = await service.store.list_scheduled(
        context_identifier=context_identifier, status=status, limit=limit
    )
    return ScheduledPage(Scheduled=[ScheduledOut.of(s) for s in found])


@router.get(
    "/schedule/{ScheduledId}",
    summary="Show a scheduled operation",
    responses={404: {"description": "No such operation"}},
)
async def show_scheduled(
    scheduled_id: ScheduledId, service: Service, operator: Operator
) -> ScheduledOut:
    """One scheduled operation, whatever its status, with its error if it failed."""
    found = await service.store.get_scheduled(scheduled_id)
    if found is None:
        raise UnknownScheduledOperation(scheduled_id, pending=False)
    return ScheduledOut.of(found)


@router.delete(
    "/schedule/{ScheduledId}",
    summary="Cancel a scheduled operation",
    responses={404: {"description": "No such pending operation"}},
)
async def cancel_scheduled(
    scheduled_id: ScheduledId, service: Service, operator: Operator
) -> ScheduledOut:
    """Cancel a pending scheduled operation; it will not run.

    The record stays, with Status `cancelled`, so `GET` still answers it: the schedule
    keeps what was planned and who cancelled it.
    """
    return ScheduledOut.of(await service.cancel(scheduled_id))
