"""The operator API for notices: `/admin/notices`, and notes on a tenant's own notice."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query

from tenantstatus.lifecycle import InvalidOperation
from tenantstatus.service.access import Operator
from tenantstatus.service.errors import UnknownNotice, UnknownTenant
from tenantstatus.service.notices.schemas import (
    NoticeNote,
    NoticeOut,
    NoticePage,
    NoticePost,
    NoticeResolve,
)
from tenantstatus.service.parameters import ContextPath
from tenantstatus.service.services import ServicesDep
from tenantstatus.store import NoticeScope

__all__ = ["check_until", "router"]

_PROBLEM: dict[str, object] = {"content": {"application/problem+json": {}}}
_ERRORS: dict[int | str, dict[str, object]] = {
    401: {"description": "Missing or wrong operator token", **_PROBLEM},
    422: {"description": "Invalid request", **_PROBLEM},
}
_UNTIL: dict[int | str, dict[str, object]] = {
    422: {"description": "Invalid request, or Until is not in the future", **_PROBLEM}
}
_NOT_OPEN: dict[int | str, dict[str, object]] = {
    404: {"description": "No such open notice", **_PROBLEM},
    **_UNTIL,
}
NoticeId = Annotated[int, Path(alias="NoticeId", ge=1, le=2**62, description="Id of the notice.")]

router = APIRouter(prefix="/admin", tags=["notices"], responses=_ERRORS)


def check_until(until: datetime | None, after: datetime) -> None:
    """Refuse an expected end that is not after `after` (now, or the operation's At)."""
    if until is not None and until <= after:
        raise InvalidOperation("Until must lie after the notice begins (now, or At)")


@router.post(
    "/notices",
    status_code=201,
    summary="Post a notice on a host or a list",
    responses={
        422: {
            "description": "Invalid request: both or neither of Host and ContextIdentifiers, "
            "or Until is not in the future",
            **_PROBLEM,
        }
    },
)
async def post_notice(body: NoticePost, services: ServicesDep, operator: Operator) -> NoticeOut:
    """Post one notice on every tenant whose Endpoint is on `Host`, or on the tenants in
    `ContextIdentifiers` (one tenant: that tenant's own notice).

    It is stored once, however many tenants it covers, and shows on each one's page.
    """
    now = services.clock.now()
    check_until(body.Until, now)
    listed = sorted(set(body.ContextIdentifiers or []))
    if body.Host is not None:
        notice = await services.store.post_notice(
            body.Body, scope=NoticeScope.HOST, host=body.Host, posted_by=operator.actor,
            at=now, until=body.Until,
        )  # fmt: skip
    elif len(listed) == 1:
        notice = await services.store.post_notice(
            body.Body, scope=NoticeScope.TENANT, context_identifier=listed[0],
            posted_by=operator.actor, at=now, until=body.Until,
        )  # fmt: skip
    else:
        notice = await services.store.post_notice(
            body.Body, scope=NoticeScope.TENANTS, context_identifiers=listed,
            posted_by=operator.actor, at=now, until=body.Until,
        )  # fmt: skip
    return NoticeOut.of(notice)


@router.get("/notices", summary="List notices")
async def list_notices(
    services: ServicesDep,
    operator: Operator,
    status: Annotated[
        str, Query(pattern="^(open|all)$", description="`open` (planned or under way) or `all`")
    ] = "open",
    before: Annotated[int | None, Query(ge=1, le=2**62, description="The previous Next")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> NoticePage:
    """Notices, newest first: open ones unless `status=all`."""
    found = await services.store.list_notices(
        open_only=status == "open", before_id=before, limit=limit + 1
    )
    more = len(found) > limit
    found = found[:limit]
    return NoticePage(Notices=[NoticeOut.of(n) for n in found], Next=found[-1].id if more else None)


@router.get(
    "/notices/{NoticeId}",
    summary="Show a notice",
    responses={404: {"description": "No such notice", **_PROBLEM}},
)
async def show_notice(notice_id: NoticeId, services: ServicesDep, operator: Operator) -> NoticeOut:
    """One notice with its updates and, for a list, its tenants."""
    found = await services.store.get_notice(notice_id)
    if found is None:
        raise UnknownNotice(f"no notice {notice_id}", notice_id=notice_id)
    return NoticeOut.of(found)


@router.post("/notices/{NoticeId}/updates", summary="Post an update", responses=_NOT_OPEN)
async def update_notice(
    notice_id: NoticeId, body: NoticeNote, services: ServicesDep, operator: Operator
) -> NoticeOut:
    """Add an update to an open notice, and a new expected end if `Until` is given."""
    now = services.clock.now()
    check_until(body.Until, now)
    try:
        found = await services.store.add_notice_update(
            notice_id, body.Body, posted_by=operator.actor, at=now, until=body.Until
        )
    except ValueError as exc:
        raise InvalidOperation(str(exc)) from None
    if found is None:
        raise UnknownNotice(f"no open notice {notice_id}", notice_id=notice_id)
    return NoticeOut.of(found)


@router.post("/notices/{NoticeId}/resolve", summary="Resolve a notice", responses=_NOT_OPEN)
async def resolve_notice(
    notice_id: NoticeId,
    services: ServicesDep,
    operator: Operator,
    body: NoticeResolve | None = None,
) -> NoticeOut:
    """Resolve an open notice; with `Body`, that is its last update."""
    found = await services.store.resolve_notice(
        notice_id,
        at=services.clock.now(),
        body=None if body is None else body.Body,
        posted_by=operator.actor,
    )
    if found is None:
        raise UnknownNotice(f"no open notice {notice_id}", notice_id=notice_id)
    return NoticeOut.of(found)


@router.post(
    "/tenants/{ContextIdentifier}/notes",
    summary="Post a note on the tenant's current notice",
    responses={
        404: {"description": "No such tenant, or it has no open notice", **_PROBLEM},
        **_UNTIL,
    },
)
async def note_on_tenant(
    context_identifier: ContextPath, body: NoticeNote, services: ServicesDep, operator: Operator
) -> NoticeOut:
    """Add an update to the tenant's own newest open notice (the message of the operation
    under way, usually), and a new expected end if `Until` is given."""
    store = services.store
    if await store.get_tenant(context_identifier) is None:
        raise UnknownTenant(context_identifier)
    current = await store.open_tenant_notice(context_identifier)
    if current is None:
        raise UnknownNotice(
            f"{context_identifier} has no open notice; give the operation --message, or post "
            "one with `notice post --tenant`"
        )
    return await update_notice(current.id, body, services, operator)
