"""Who is calling: the operator, an application, or nobody. FastAPI dependencies."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.exceptions import HTTPException

from tenantstatus.service.auth import hash_token
from tenantstatus.service.errors import UnknownApplication
from tenantstatus.service.services import ServicesDep

__all__ = ["Caller", "Operator", "Principal", "operator_principal", "require_access"]

_bearer = HTTPBearer(auto_error=False, description="The operator token or an application token.")


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated caller: the operator (`application_id` None) or one application."""

    application_id: str | None

    @property
    def is_operator(self) -> bool:
        """True for the operator, who sees everything."""
        return self.application_id is None

    @property
    def actor(self) -> str:
        """The name history rows record."""
        return "operator" if self.application_id is None else self.application_id


async def _principal(
    services: ServicesDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    if credentials is not None:
        auth = services.operator_auth
        if auth is not None and auth.verify(f"{credentials.scheme} {credentials.credentials}"):
            return Principal(None)
        if credentials.scheme.lower() == "bearer":
            token_hash = hash_token(credentials.credentials)
            application = await services.store.application_by_token_hash(token_hash)
            if application is not None:
                return Principal(application.id)
    raise HTTPException(
        401,
        "This route needs the operator token or an application token: "
        "send 'Authorization: Bearer <token>'.",
        headers={"WWW-Authenticate": "Bearer"},
    )


def operator_principal(principal: Annotated[Principal, Depends(_principal)]) -> Principal:
    """The caller, refused with 403 unless it is the operator (the `Operator` dependency)."""
    if not principal.is_operator:
        raise HTTPException(403, "Only the operator may do this; application tokens may not.")
    return principal


def require_access(principal: Principal, application_id: str) -> None:
    """Refuse (404, so ids do not leak) unless the caller is the operator or that application."""
    if not principal.is_operator and principal.application_id != application_id:
        raise UnknownApplication(application_id)


Caller = Annotated[Principal, Depends(_principal)]
Operator = Annotated[Principal, Depends(operator_principal)]
