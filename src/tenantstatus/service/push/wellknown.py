"""Key discovery for generic JWT libraries: the JWKS and an OpenID-style configuration."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import JSONResponse

from tenantstatus.delivery.signing_keys import KeyService
from tenantstatus.service.services import ServicesDep

__all__ = ["router"]

router = APIRouter(tags=["keys"])


def _cache(keys: KeyService) -> dict[str, str]:
    # Shorter than the publish delay, so a cached JWKS lists a new key before it signs.
    return {"cache-control": f"public, max-age={keys.jwks_max_age}"}


@router.get("/.well-known/jwks.json", summary="The JSON Web Key Set")
async def jwks(services: ServicesDep) -> JSONResponse:
    """The public keys that verify notification tokens still valid now, and the next one."""
    return JSONResponse(services.keys.jwks(), headers=_cache(services.keys))


@router.get(
    "/.well-known/openid-configuration",
    summary="Where the issuer's keys are (OpenID-style)",
    description="The issuer (the service's public URL) and its jwks_uri, so a generic JWT "
    "library can verify notification tokens without configuration.",
)
async def discovery(services: ServicesDep) -> JSONResponse:
    """The issuer and where its keys are."""
    issuer = services.issuer
    document = {
        "issuer": issuer,
        "jwks_uri": f"{issuer}/.well-known/jwks.json",
        "id_token_signing_alg_values_supported": ["RS256", "ES256"],
    }
    return JSONResponse(document, headers=_cache(services.keys))
