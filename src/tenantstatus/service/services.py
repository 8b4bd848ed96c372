"""The composition root's product: every part a route needs, typed, in one object.

`create_app` builds one `Services` and keeps it on the app; a route takes it as a
dependency, or reads it with `services_of(request)`:

    >>> @router.get("/example")
    ... async def example(services: ServicesDep) -> str:
    ...     return services.issuer
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends
from starlette.requests import HTTPConnection

from tenantstatus.clock import Clock
from tenantstatus.delivery.control import DeliveryControl
from tenantstatus.delivery.page_signing import PageSigner
from tenantstatus.delivery.signing_keys import KeyService
from tenantstatus.service.auth import OperatorAuth
from tenantstatus.service.metrics import ServiceMetrics
from tenantstatus.service.push import ApplicationService
from tenantstatus.service.rollouts import RolloutService
from tenantstatus.service.state import StateCache
from tenantstatus.service.tenants import TenantService
from tenantstatus.store import ServiceStore

__all__ = ["Services", "ServicesDep", "services_of"]


@dataclass(slots=True, kw_only=True)
class Services:
    """The service's parts. `operator_auth` and `ready` are set when the app starts."""

    store: ServiceStore
    tenants: TenantService
    applications: ApplicationService
    rollouts: RolloutService
    keys: KeyService
    delivery: DeliveryControl
    cache: StateCache
    clock: Clock
    metrics: ServiceMetrics
    issuer: str
    #: Signs the catch-up feed's pages (`GET /admin/applications/{id}/notifications`).
    page_signer: PageSigner = field(default_factory=lambda: PageSigner(0))
    operator_auth: OperatorAuth | None = None
    ready: bool = False


def services_of(connection: HTTPConnection) -> Services:
    """The `Services` of the app serving this request."""
    services = connection.app.state.services
    if not isinstance(services, Services):
        raise TypeError("this app was not built by tenantstatus.service.create_app")
    return services


ServicesDep = Annotated[Services, Depends(services_of)]
