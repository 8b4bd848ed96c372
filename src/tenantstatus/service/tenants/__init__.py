"""Tenant operations: the one way to change a tenant, now or on a schedule.

`TenantService` runs an operation through the lifecycle and the store and updates the
state cache; `Scheduler` runs scheduled ones when their instant comes; `ChangeFeed`
follows what other nodes commit. Its operator API is `routes`.
"""

from __future__ import annotations

from tenantstatus.service.tenants.change_feed import ChangeFeed
from tenantstatus.service.tenants.scheduler import Scheduler
from tenantstatus.service.tenants.service import ImportItem, TenantService

__all__ = ["ChangeFeed", "ImportItem", "Scheduler", "TenantService"]
