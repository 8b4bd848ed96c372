"""Key discovery for generic JWT libraries: the JWKS and an OpenID-style configuration."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import JSONResponse

from tenantstatus.service.services import services_of

__all__ = ["router"]

router = APIRouter(tags=["keys"])

_CACHE = {"cache-control": "public, max-age=300"}


@router.get("/.well-known/jwks.json")
async def jwks(request: Request) -> JSONResponse:
    """The public keys that verify notification tokens still valid now."""
    return JSONResponse(services_of(request).keys.jwks(), headers=_CACHE)


@router.get("/.well-known/openid-configuration")
async def discovery(request: Request) -> JSONResponse:
    """The issuer and where its keys are."""
    issuer: str = services_of(request).issuer
    document = {
        "issuer": issuer,
        "jwks_uri": f"{issuer}/.well-known/jwks.json",
        "id_token_signing_alg_values_supported": ["RS256", "ES256"],
    }
    return JSONResponse(document, headers=_CACHE)
