"""The vendor portal: one application's URL, secret, customers and deliveries, for people.

    >>> app.include_router(portal_router())

Server-rendered, no script. A vendor enters with the application's API token
(`/portal/login`) or with a single-use link the operator mints
(`POST /admin/applications/{id}/portal-link`, `tenantstatus app portal-link`).
"""

from __future__ import annotations

from fastapi import APIRouter

from tenantstatus.service.portal import entry_routes, link_routes, routes
from tenantstatus.service.portal.forms import FORM_MAX_BYTES

__all__ = ["FORM_MAX_BYTES", "FORM_PATHS", "portal_router"]

FORM_PATHS = (
    "/portal/login",
    "/portal/enter",
    "/portal/logout",
    "/portal/url",
    "/portal/rotate-secret",
    "/portal/test",
    "/portal/recover",
    "/portal/redeliver",
)


def portal_router() -> APIRouter:
    """The portal's pages and the operator's route that mints links."""
    router = APIRouter()
    router.include_router(entry_routes.router)
    router.include_router(routes.router)
    router.include_router(link_routes.router)
    return router
