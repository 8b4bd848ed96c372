"""`POST /admin/applications/{id}/portal-link`: the operator mints a single-use way in."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, Field

from tenantstatus.model import format_instant
from tenantstatus.service.access import Operator
from tenantstatus.service.portal.pages import access_of
from tenantstatus.service.push.routes import AppId
from tenantstatus.service.services import ServicesDep

__all__ = ["PortalLinkOut", "router"]

_PROBLEM: dict[str, object] = {"content": {"application/problem+json": {}}}


class PortalLinkOut(BaseModel):
    """A link that opens the application's portal once, shown only in this answer."""

    ApplicationId: str = Field(examples=["app_3f9c2a7b1d4e6f80"])
    Url: str = Field(
        description="Opens one portal session; stored only as a hash.",
        examples=[
            "https://status.example.com/portal/enter?token=tspl_q8Yt0bW3kZr6LmN2vC5xJ9sPdE1aHfG7uKoRiT4nVwU"
        ],
    )
    ExpiresAt: str = Field(examples=["2026-12-02T10:15:00.0000000Z"])


router = APIRouter(prefix="/admin", tags=["push"])


@router.post(
    "/applications/{ApplicationId}/portal-link",
    status_code=201,
    summary="Mint a portal link",
    responses={
        401: {"description": "Missing or unknown token", **_PROBLEM},
        403: {"description": "Operator only", **_PROBLEM},
        404: {"description": "No such application", **_PROBLEM},
    },
)
async def mint_portal_link(
    application_id: AppId, services: ServicesDep, operator: Operator
) -> PortalLinkOut:
    """A single-use link into the application's vendor portal, valid for 15 minutes.

    Only its hash is stored; the first POST of its landing page spends it.
    """
    link = await access_of(services).mint_link(application_id)
    return PortalLinkOut(
        ApplicationId=application_id,
        Url=f"{services.issuer.rstrip('/')}/portal/enter?token={link.token}",
        ExpiresAt=format_instant(link.expires_at),
    )
