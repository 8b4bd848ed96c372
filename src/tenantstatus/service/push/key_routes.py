"""`/admin/keys`: see and rotate the notification signing keys (operator only)."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter
from pydantic import BaseModel

from tenantstatus.delivery.signing_keys import KeyService
from tenantstatus.service.access import Operator
from tenantstatus.service.services import ServicesDep

__all__ = ["router"]

router = APIRouter(prefix="/admin/keys", tags=["keys"])


class KeyOut(BaseModel):
    """A signing key, public facts only: published from CreatedAt, signing from SignsFrom."""

    Kid: str
    Algorithm: str
    Active: bool
    CreatedAt: datetime | None
    SignsFrom: datetime | None
    RetiredAt: datetime | None


class KeyPage(BaseModel):
    """The keys in the ring by when they sign: a key published but not signing yet last."""

    Keys: list[KeyOut]


class RotateIn(BaseModel):
    """How to rotate: by default the new key signs after the publish delay."""

    Immediately: bool = False


def _page(keys: KeyService) -> KeyPage:
    ring = keys.ring
    return KeyPage(
        Keys=[
            KeyOut(
                Kid=k.kid,
                Algorithm=k.algorithm,
                Active=k.kid == ring.active.kid,
                CreatedAt=k.created_at,
                SignsFrom=k.starts_signing,
                RetiredAt=k.retired_at,
            )
            for k in ring.keys
        ]
    )


@router.get(
    "",
    summary="List the signing keys",
    description="The keys in the ring, oldest first: the active one signs new notification "
    "tokens, retired ones stay in the JWKS until the tokens they signed expire.",
)
async def list_keys(services: ServicesDep, operator: Operator) -> KeyPage:
    """The signing keys."""
    return _page(services.keys)


@router.post("/rotate", summary="Rotate the signing key")
async def rotate_keys(
    services: ServicesDep, operator: Operator, body: RotateIn | None = None
) -> KeyPage:
    """Publish a new key now; it signs after the publish delay (or at once, Immediately).

    The key it replaces signs until then, and stays in the JWKS until its tokens expire.
    """
    await services.keys.rotate(immediately=body is not None and body.Immediately)
    services.delivery.keys_rotated()
    return _page(services.keys)
