"""Tenant operations: the one way to change a tenant, now or on a schedule.

`TenantService` runs an operation through the lifecycle and the store and updates the
state cache; `Scheduler` runs scheduled ones when their instant comes; `follow_changes`
applies what other nodes commit. Its operator API is `routes`.
"""

from __future__ import annotations

from tenantstatus.service.tenants.change_feed import follow_changes
from tenantstatus.service.tenants.scheduler import Scheduler
from tenantstatus.service.tenants.service import ImportItem, TenantService

__all__ = ["ImportItem", "Scheduler", "TenantService", "follow_changes"]
