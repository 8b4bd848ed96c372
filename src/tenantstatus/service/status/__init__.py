"""The status page: tenant state for people, and feeds, a badge and JSON for their tools.

    >>> app.include_router(status_router(public_overview=False))

Routes: `/status/{ContextIdentifier}` (the tenant's page), `/status` (the overview
of every tenant), `/status/{ContextIdentifier}/summary.json` (Statuspage v2 shape),
`/status/{ContextIdentifier}/feed.atom` and `/status/feed.atom` (Atom), and
`/status/{ContextIdentifier}/badge.svg`.
"""

from __future__ import annotations

from tenantstatus.service.status.routes import status_router

__all__ = ["status_router"]
