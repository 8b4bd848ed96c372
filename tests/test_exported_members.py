"""The public API is a decision: a change to these lists must be deliberate."""

from __future__ import annotations

import tenantstatus
import tenantstatus.delivery
import tenantstatus.lifecycle
import tenantstatus.model
import tenantstatus.store


def test_package_exports() -> None:
    assert sorted(tenantstatus.__all__) == [
        "ChangeType",
        "StateChangeNotification",
        "TenantState",
        "TenantStatus",
        "VersionInfo",
        "WireFormatError",
        "__version__",
    ]


def test_model_exports() -> None:
    assert sorted(tenantstatus.model.__all__) == [
        "CONTEXT_IDENTIFIER_PATTERN",
        "ChangeType",
        "StateChangeNotification",
        "TenantState",
        "TenantStatus",
        "VersionInfo",
        "WireFormatError",
        "format_instant",
        "is_valid_context_identifier",
        "parse_instant",
    ]


def test_lifecycle_exports() -> None:
    assert sorted(tenantstatus.lifecycle.__all__) == [
        "Activity",
        "InvalidOperation",
        "Operation",
        "OperationRequest",
        "Outcome",
        "RULES",
        "Tenant",
        "TransitionRefused",
        "allowed_operations",
        "apply",
        "validate_endpoint",
    ]


def test_store_exports() -> None:
    assert sorted(tenantstatus.store.__all__) == [
        "HistoryEntry",
        "ImportResult",
        "Outbox",
        "ScheduleStatus",
        "ScheduledOperation",
        "SqlStore",
        "Store",
        "StoreUnavailable",
    ]


def test_delivery_exports() -> None:
    assert sorted(tenantstatus.delivery.__all__) == [
        "Dispatcher",
        "DispatcherSettings",
        "Resolver",
        "RetrySchedule",
        "StaticResolver",
        "SystemResolver",
        "UnsafeAddress",
        "UnsafeUrl",
        "UrlPolicy",
        "safe_async_transport",
    ]


def test_every_exported_name_exists() -> None:
    modules = (
        tenantstatus,
        tenantstatus.model,
        tenantstatus.lifecycle,
        tenantstatus.store,
        tenantstatus.delivery,
    )
    for module in modules:
        for name in module.__all__:
            assert hasattr(module, name), f"{module.__name__}.{name}"
