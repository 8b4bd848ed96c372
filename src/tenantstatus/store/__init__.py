"""Persistence: one protocol per role the store plays, all implemented by `SqlStore`.

`SqlStore` runs on SQLite (the embedded default) and PostgreSQL (several nodes). The
roles are in `roles`; the records they return in `base`, `push_records` and
`notice_records`.
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
from tenantstatus.store.notice_records import (
    Notice,
    NoticeDraft,
    NoticeResolution,
    NoticeScope,
    NoticeUpdate,
    endpoint_host,
)
from tenantstatus.store.roles import (
    FinishedDeliveries,
    KeyStore,
    NoticeStore,
    Outbox,
    PortalStore,
    PushStore,
    RolloutStore,
    ServiceStore,
    SettingsStore,
    StatusReads,
    TenantStore,
)
from tenantstatus.store.rollout_records import (
    Rollout,
    RolloutDraft,
    RolloutEvent,
    RolloutMember,
    RolloutPhase,
    RolloutProgress,
    RolloutSelector,
    RolloutStatus,
)
from tenantstatus.store.rollout_sql import ConductStep, RolloutBusy
from tenantstatus.store.sql import SqlStore

__all__ = [
    "ALL_TENANTS",
    "ConductStep",
    "FinishedDeliveries",
    "HistoryEntry",
    "ImportResult",
    "KeyStore",
    "Notice",
    "NoticeDraft",
    "NoticeResolution",
    "NoticeScope",
    "NoticeStore",
    "NoticeUpdate",
    "Outbox",
    "PortalStore",
    "PushStore",
    "Rollout",
    "RolloutBusy",
    "RolloutDraft",
    "RolloutEvent",
    "RolloutMember",
    "RolloutPhase",
    "RolloutProgress",
    "RolloutSelector",
    "RolloutStatus",
    "RolloutStore",
    "ScheduleNotPending",
    "ScheduleStatus",
    "ScheduledOperation",
    "ServiceStore",
    "SettingsStore",
    "SqlStore",
    "StatusReads",
    "StoreUnavailable",
    "TenantStore",
    "endpoint_host",
]
