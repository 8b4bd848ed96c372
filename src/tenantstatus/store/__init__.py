"""Persistence: one `Store` interface, with SQL backends behind it."""

from __future__ import annotations

from tenantstatus.store.base import (
    HistoryEntry,
    ImportResult,
    Outbox,
    ScheduledOperation,
    ScheduleNotPending,
    ScheduleStatus,
    Store,
    StoreUnavailable,
)
from tenantstatus.store.sql import SqlStore

__all__ = [
    "HistoryEntry",
    "ImportResult",
    "Outbox",
    "ScheduleNotPending",
    "ScheduleStatus",
    "ScheduledOperation",
    "SqlStore",
    "Store",
    "StoreUnavailable",
]
