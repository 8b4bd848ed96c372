"""`ServiceDirectory`: the installations read tenants from the service's own store."""

from __future__ import annotations

from datetime import datetime

from tenantstatus.lifecycle import Tenant
from tenantstatus.store import HistoryEntry, TenantStore

__all__ = ["ServiceDirectory"]


class ServiceDirectory:
    """A `TenantDirectory` over the service's store: the row as committed, nothing cached.

    Reading the committed row (not the state API's cache) means an installation comes
    back up at the very commit that makes its tenant Running, before anyone can read
    Running from the state API.
    """

    def __init__(self, store: TenantStore) -> None:
        self.store = store

    async def tenant(self, context_identifier: str) -> Tenant | None:
        """The tenant as committed."""
        return await self.store.get_tenant(context_identifier)

    async def last_change(self, context_identifier: str) -> HistoryEntry | None:
        """The tenant's latest history entry."""
        entries = await self.store.history(context_identifier, limit=1)
        return entries[0] if entries else None

    async def next_change(self, context_identifier: str) -> datetime | None:
        """When the tenant's next pending scheduled operation runs."""
        pending = await self.store.list_scheduled(context_identifier=context_identifier, limit=1)
        return pending[0].run_at if pending else None
