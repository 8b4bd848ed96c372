"""The operator API for push: applications, approvals and deliveries.

The operator sees and manages everything. An application's own token sees and manages
only that application: its URL, its secret and its deliveries.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query

from tenantstatus.service.access import Caller, Operator, require_access
from tenantstatus.service.errors import DeliveryHeld, UnknownApplication, UnknownApproval
from tenantstatus.service.parameters import ContextPath
from tenantstatus.service.push import delivery_actions
from tenantstatus.service.push.applications import ApplicationService, NewCredentials
from tenantstatus.service.push.delivery_actions import owned_delivery
from tenantstatus.service.push.schemas import (
    ApplicationCreate,
    ApplicationCredentials,
    ApplicationOut,
    ApplicationPage,
    ApprovalOut,
    AttemptOut,
    DeliveryDetail,
    DeliveryOut,
    DeliveryPage,
    EnableBody,
    EnabledOut,
    RecoverBody,
    RecoverOut,
    UrlBody,
)
from tenantstatus.service.services import Services, ServicesDep
from tenantstatus.store.push_records import DeliveryStatus

__all__ = ["router"]


def _applications(services: ServicesDep) -> ApplicationService:
    return services.applications


Applications = Annotated[ApplicationService, Depends(_applications)]
AppId = Annotated[
    str,
    Path(
        alias="ApplicationId",
        pattern=r"^app_[0-9a-f]{16}$",
        description="The application's Id.",
        examples=["app_3f9c2a7b1d4e6f80"],
    ),
]
DeliveryId = Annotated[
    str,
    Path(
        alias="DeliveryId",
        pattern=r"^msg_[0-9a-f]{32}$",
        description="The delivery's Id (the webhook-id header the receiver saw).",
        examples=["msg_0b4f6c1e9a2d4b7c8e3f5a6b7c8d9e0f"],
    ),
]

_PROBLEM: dict[str, object] = {"content": {"application/problem+json": {}}}
router = APIRouter(
    prefix="/admin",
    tags=["push"],
    responses={
        401: {"description": "Missing or unknown token", **_PROBLEM},
        403: {"description": "Operator only", **_PROBLEM},
        404: {"description": "Not found (or not yours)", **_PROBLEM},
        422: {"description": "Invalid request", **_PROBLEM},
    },
)


def _credentials(services: Services, credentials: NewCredentials) -> ApplicationCredentials:
    return ApplicationCredentials(
        Application=ApplicationOut.of(credentials.application, services.clock.now()),
        Token=credentials.token,
        Secret=credentials.secret,
    )


_URL_REFUSED: dict[int | str, dict[str, Any]] = {
    422: {
        "description": "Invalid request, or the State Change URL is refused: not https, or "
        "its host does not resolve, or resolves to a private or loopback address",
        **_PROBLEM,
    }
}


@router.post(
    "/applications", status_code=201, summary="Register an application", responses=_URL_REFUSED
)
async def create_application(
    body: ApplicationCreate, services: ServicesDep, applications: Applications, operator: Operator
) -> ApplicationCredentials:
    """Register an application and its State Change URL.

    The answer carries the application's own API token and its webhook signing
    secret; they are shown in this answer only and stored as hashes or sealed.
    """
    return _credentials(services, await applications.create(body.Name, body.Url))


@router.get("/applications", summary="List applications")
async def list_applications(
    services: ServicesDep, applications: Applications, caller: Caller
) -> ApplicationPage:
    """Every application (an application's token sees only itself), with delivery counts."""
    now = services.clock.now()
    counts = await applications.store.delivery_counts()
    found = await applications.store.list_applications()
    return ApplicationPage(
        Applications=[
            ApplicationOut.of(
                a, now, {status: n for (app, status), n in counts.items() if app == a.id}
            )
            for a in found
            if caller.is_operator or caller.application_id == a.id
        ]
    )


@router.get("/applications/{ApplicationId}", summary="Show an application")
async def show_application(
    application_id: AppId, services: ServicesDep, applications: Applications, caller: Caller
) -> ApplicationOut:
    """One application, with its delivery counts by status."""
    require_access(caller, application_id)
    application = await applications.get(application_id)
    counts = await applications.store.delivery_counts()
    mine = {status: n for (app, status), n in counts.items() if app == application_id}
    return ApplicationOut.of(application, services.clock.now(), mine)


@router.put(
    "/applications/{ApplicationId}/url",
    summary="Change the State Change URL",
    responses=_URL_REFUSED,
)
async def set_url(
    application_id: AppId,
    body: UrlBody,
    services: ServicesDep,
    applications: Applications,
    caller: Caller,
) -> ApplicationOut:
    """Point the application's notifications at a new State Change URL, checked as at
    registration: https, and a host that resolves to public addresses only."""
    require_access(caller, application_id)
    updated = await applications.set_url(application_id, body.Url)
    return ApplicationOut.of(updated, services.clock.now())


@router.post("/applications/{ApplicationId}/rotate-secret", summary="Rotate the webhook secret")
async def rotate_secret(
    application_id: AppId, services: ServicesDep, applications: Applications, caller: Caller
) -> ApplicationCredentials:
    """A new webhook secret, shown once; the old one keeps signing for 24 hours."""
    require_access(caller, application_id)
    return _credentials(services, await applications.rotate_secret(application_id))


@router.post("/applications/{ApplicationId}/enable", summary="Re-enable an application")
async def enable_application(
    application_id: AppId,
    services: ServicesDep,
    applications: Applications,
    caller: Caller,
    body: EnableBody | None = None,
) -> EnabledOut:
    """Re-enable a subscription (e.g. after the receiver answered 410).

    The notifications held while it was disabled, including the one the 410 refused,
    are sent oldest first (per tenant, each after the one before), or with `DropHeld`
    dropped and never sent.
    """
    require_access(caller, application_id)
    drop = body is not None and body.DropHeld
    updated, changed = await applications.enable(application_id, drop_held=drop)
    services.delivery.wake()
    described = ApplicationOut.of(updated, services.clock.now())
    return EnabledOut(
        **described.model_dump(),
        Released=0 if drop else changed,
        Dropped=changed if drop else 0,
    )


@router.put(
    "/applications/{ApplicationId}/approvals/{ContextIdentifier}", summary="Approve for a tenant"
)
async def approve(
    application_id: AppId,
    context_identifier: ContextPath,
    applications: Applications,
    operator: Operator,
) -> ApprovalOut:
    """The tenant approves the application; it gets the tenant's later notifications."""
    await applications.approve(application_id, context_identifier)
    return ApprovalOut(
        ApplicationId=application_id, ContextIdentifier=context_identifier, Approved=True
    )


@router.delete(
    "/applications/{ApplicationId}/approvals/{ContextIdentifier}",
    summary="Withdraw an approval",
)
async def revoke(
    application_id: AppId,
    context_identifier: ContextPath,
    applications: Applications,
    operator: Operator,
) -> ApprovalOut:
    """The tenant withdraws its approval: notifications of the tenant's later changes
    are no longer queued for the application."""
    if not await applications.revoke(application_id, context_identifier):
        raise UnknownApproval(application_id, context_identifier)
    return ApprovalOut(
        ApplicationId=application_id, ContextIdentifier=context_identifier, Approved=False
    )


@router.get("/deliveries", summary="List deliveries")
async def list_deliveries(
    applications: Applications,
    caller: Caller,
    application: Annotated[str | None, Query(max_length=32)] = None,
    tenant: Annotated[str | None, Query(max_length=64)] = None,
    status: DeliveryStatus | None = None,
    after: Annotated[
        int | None,
        Query(ge=1, le=2**62, description="A page's `Next`: the deliveries after that page."),
    ] = None,
    before: Annotated[
        int | None, Query(ge=1, le=2**62, description="The older name of `after`.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> DeliveryPage:
    """Deliveries, newest first; an application's token sees only its own.

    Page on with `after` set to the previous page's `Next` (a keyset cursor: deliveries
    written meanwhile come first in a new listing, never twice or in place of others).
    """
    if not caller.is_operator:
        if application is not None and application != caller.application_id:
            raise UnknownApplication(application)
        application = caller.application_id
    found = await applications.store.list_deliveries(
        application_id=application,
        context_identifier=tenant,
        status=status,
        before_seq=after if after is not None else before,
        limit=limit + 1,
    )
    more = len(found) > limit
    found = found[:limit]
    return DeliveryPage(
        Deliveries=[DeliveryOut.of(d) for d in found],
        Next=found[-1].seq if more else None,
    )


async def _owned_delivery(services: Services, caller: Caller, delivery_id: str) -> DeliveryDetail:
    delivery, attempts = await owned_delivery(services, caller.application_id, delivery_id)
    return DeliveryDetail(
        Delivery=DeliveryOut.of(delivery), Attempts=[AttemptOut.of(a) for a in attempts]
    )


@router.get("/deliveries/{DeliveryId}", summary="Show a delivery")
async def show_delivery(
    delivery_id: DeliveryId, services: ServicesDep, caller: Caller
) -> DeliveryDetail:
    """One delivery with every attempt: when, the receiver's status code, latency,
    error and the start of its answer."""
    return await _owned_delivery(services, caller, delivery_id)


_HELD_EXAMPLE = {
    "type": "about:blank",
    "title": DeliveryHeld.title,
    "status": DeliveryHeld.status,
    "detail": DeliveryHeld("msg_0b4f6c1e9a2d4b7c8e3f5a6b7c8d9e0f", "app_3f9c2a7b1d4e6f80").detail,
}


@router.post(
    "/deliveries/{DeliveryId}/redeliver",
    summary="Send a delivery again",
    responses={
        409: {
            "description": "The delivery is held: its application is disabled",
            "content": {"application/problem+json": {"example": _HELD_EXAMPLE}},
        }
    },
)
async def redeliver(
    delivery_id: DeliveryId, services: ServicesDep, caller: Caller
) -> DeliveryDetail:
    """Send a delivery again, from the first step of the retry schedule.

    A held delivery is refused with 409: it waits for its application to be enabled,
    which sends the held ones in order.
    """
    await delivery_actions.redeliver(services, caller.application_id, delivery_id)
    return await _owned_delivery(services, caller, delivery_id)


@router.post("/applications/{ApplicationId}/recover", summary="Recover dead deliveries")
async def recover(
    application_id: AppId,
    body: RecoverBody,
    services: ServicesDep,
    caller: Caller,
) -> RecoverOut:
    """Send again the application's dead deliveries since `Since`, up to `Limit` a call."""
    done = await delivery_actions.recover(
        services, caller.application_id, application_id, body.Since, limit=body.Limit
    )
    return RecoverOut(Recovered=done.recovered, Remaining=done.remaining)
