"""Persistence: one protocol per role the store plays, all implemented by `SqlStore`.

`SqlStore` runs on SQLite (the embedded default) and PostgreSQL (several nodes). The
roles are in `roles`; the records they return in `base` and `push_records`.
"""

from __future__ import annotations

from tenantstatus.store.base import (
    HistoryEntry,
    ImportResult,
    ScheduledOperation,
    ScheduleNotPending,
    ScheduleStatus,
    StoreUnavailable,
)
from tenantstatus.store.change_listener import ALL_TENANTS
from tenantstatus.store.roles import (
    FinishedDeliveries,
    KeyStore,
    Outbox,
    PortalStore,
    PushStore,
    ServiceStore,
    SettingsStore,
    StatusReads,
    TenantStore,
)
from tenantstatus.store.sql import SqlStore

__all__ = [
    "ALL_TENANTS",
    "FinishedDeliveries",
    "HistoryEntry",
    "ImportResult",
    "KeyStore",
    "Outbox",
    "PortalStore",
    "PushStore",
    "ScheduleNotPending",
    "ScheduleStatus",
    "ScheduledOperation",
    "ServiceStore",
    "SettingsStore",
    "SqlStore",
    "StatusReads",
    "StoreUnavailable",
    "TenantStore",
]
