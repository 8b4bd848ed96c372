"""`GET /admin/applications/{id}/notifications`: catch up by pull, oldest first.

A vendor whose receiver was down reads its notifications here instead of waiting for
the retries: each with the exact wire body and a fresh token, signed as a push would
be. Each item's `Id` is the `webhook-id` its push carries (and the token's `jti`), so
a receiver that reads both drops the second copy. The cursor is the last item's
`Cursor`: pass it as `after` to go on, and store it to resume later.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from tenantstatus.service.access import Caller, require_access
from tenantstatus.service.push.routes import AppId, Applications
from tenantstatus.service.services import ServicesDep
from tenantstatus.store.push_records import Delivery

__all__ = ["CaughtUpNotification", "NotificationFeedPage", "router"]

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
_PROBLEM: dict[str, object] = {"content": {"application/problem+json": {}}}


class CaughtUpNotification(BaseModel):
    """One notification as a push would carry it, with a token signed just now."""

    Cursor: int = Field(description="Pass as `after` to read what follows this one.")
    Id: str = Field(description="The delivery id: the push's `webhook-id` and the token's jti.")
    ContextIdentifier: str
    ChangeType: str = Field(description="The ChangeType's name; the body has its number.")
    Status: str = Field(description="Where its push is: pending, delivered, dead, held...")
    Test: bool = Field(description="A test notification (`app test`): no tenant changed.")
    CreatedAt: datetime
    Token: str = Field(description="The body's Token, fresh: verify it as a pushed one.")
    Body: str = Field(description="The exact wire body (JSON text) a push would POST.")

    @classmethod
    def of(cls, delivery: Delivery, body: bytes, token: str) -> CaughtUpNotification:
        """Describe a delivery and its freshly signed body."""
        return cls(
            Cursor=delivery.seq,
            Id=delivery.id,
            ContextIdentifier=delivery.context_identifier,
            ChangeType=delivery.change_type.name,
            Status=str(delivery.status),
            Test=delivery.test,
            CreatedAt=delivery.created_at,
            Token=token,
            Body=body.decode(),
        )


class NotificationFeedPage(BaseModel):
    """A page of notifications, oldest first, and the cursor to go on from."""

    Notifications: list[CaughtUpNotification]
    Next: int = Field(
        description="Pass as `after` for the next page; store it to resume. Equal to "
        "`after` when nothing is new."
    )
    More: bool = Field(description="Whether more notifications follow right now.")


router = APIRouter(prefix="/admin", tags=["push"])


@router.get(
    "/applications/{ApplicationId}/notifications",
    summary="Catch up on notifications",
    responses={
        401: {"description": "Missing or unknown token", **_PROBLEM},
        403: {"description": "Not allowed", **_PROBLEM},
        404: {"description": "No such application (or not yours)", **_PROBLEM},
        422: {"description": "Invalid cursor or limit", **_PROBLEM},
    },
)
async def catch_up(
    application_id: AppId,
    services: ServicesDep,
    applications: Applications,
    caller: Caller,
    after: Annotated[
        int,
        Query(
            ge=0,
            le=2**62,
            description="A cursor: the `Next` of a page, or an item's `Cursor`; 0 from "
            "the oldest kept notification.",
        ),
    ] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
) -> NotificationFeedPage:
    """The application's notifications after `after`, oldest first, each signed afresh.

    Every notification written for the application is here, whatever became of its
    push, until delivery retention prunes it. Its `Id` is the `webhook-id` of its push:
    drop one of the two when both arrive. The application's own token reads only its
    own feed.
    """
    require_access(caller, application_id)
    await applications.get(application_id)  # 404 for an application that is not there
    found = await services.store.notification_feed(application_id, after_seq=after, limit=limit + 1)
    more = len(found) > limit
    found = found[:limit]
    signed = await services.page_signer.sign(
        found, ring=services.keys.ring, issuer=services.issuer, now=services.clock.now()
    )
    items = [
        CaughtUpNotification.of(delivery, one.body, one.token)
        for delivery, one in zip(found, signed, strict=True)
    ]
    return NotificationFeedPage(
        Notifications=items, Next=found[-1].seq if found else after, More=more
    )
