"""`POST /admin/applications/{id}/test`: a test notification, sent like every other.

It is the exact wire body, signed like any notification (token and Standard Webhooks
headers) and sent through the outbox, with its one attempt logged. Its token carries
the signed claim `"test": true` and the request the header `X-Hook-Test: true`; no
tenant row is read for writing, and nothing about any tenant changes.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body
from pydantic import BaseModel, ConfigDict, Field

from tenantstatus.model import TEST_CONTEXT_IDENTIFIER, ChangeType
from tenantstatus.service.access import Caller
from tenantstatus.service.parameters import CONTEXT_IDENTIFIER_SCHEMA_PATTERN
from tenantstatus.service.push import delivery_actions
from tenantstatus.service.push.routes import AppId
from tenantstatus.service.push.schemas import DeliveryOut
from tenantstatus.service.services import ServicesDep

__all__ = ["TestNotificationRequest", "router"]

CHANGE_TYPE_NAMES = tuple(ChangeType.__members__)
_PROBLEM: dict[str, object] = {"content": {"application/problem+json": {}}}


class TestNotificationRequest(BaseModel):
    """Which test notification to send; every field may be left out."""

    __test__ = False  # not a pytest test class, whatever its name says
    model_config = ConfigDict(extra="forbid")

    ContextIdentifier: str | None = Field(
        None,
        pattern=CONTEXT_IDENTIFIER_SCHEMA_PATTERN,
        description="A tenant that approved the application; its current version is sent. "
        f"Left out: the reserved `{TEST_CONTEXT_IDENTIFIER}`, which is never a real tenant.",
        examples=["Cust12345"],
    )
    ChangeType: str = Field(
        "Upgrade",
        pattern=f"^({'|'.join(CHANGE_TYPE_NAMES)})$",
        description="The ChangeType's name.",
        examples=["Upgrade"],
    )


router = APIRouter(prefix="/admin", tags=["push"])


@router.post(
    "/applications/{ApplicationId}/test",
    status_code=202,
    summary="Send a test notification",
    responses={
        401: {"description": "Missing or unknown token", **_PROBLEM},
        404: {
            "description": "No such application (or not yours), or the tenant named has "
            "not approved it",
            **_PROBLEM,
        },
        422: {"description": "Invalid request, or the application is disabled", **_PROBLEM},
    },
)
async def send_test(
    application_id: AppId,
    services: ServicesDep,
    caller: Caller,
    body: Annotated[TestNotificationRequest | None, Body()] = None,
) -> DeliveryOut:
    """Queue a test notification for the application, sent and signed like every other.

    Its token carries the claim `"test": true` (signed, so it cannot be forged onto a
    real notification or stripped) and the POST the header `X-Hook-Test: true`. It is
    tried once, never retried; no tenant changes. The application's own token may send
    it; follow it with `GET /admin/deliveries/{DeliveryId}`.
    """
    request = body or TestNotificationRequest.model_validate({})
    delivery = await delivery_actions.send_test(
        services,
        caller.application_id,
        application_id,
        context_identifier=request.ContextIdentifier,
        change_type=ChangeType[request.ChangeType],
    )
    return DeliveryOut.of(delivery)
