"""The public API is a decision: a change to these lists must be deliberate."""

from __future__ import annotations

import tenantstatus
import tenantstatus.delivery
import tenantstatus.lifecycle
import tenantstatus.model
import tenantstatus.service
import tenantstatus.service.errors
import tenantstatus.service.notices
import tenantstatus.service.portal
import tenantstatus.service.push
import tenantstatus.service.rollouts
import tenantstatus.service.state
import tenantstatus.service.tenants
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
        "TEST_CONTEXT_IDENTIFIER",
        "TenantState",
        "TenantStatus",
        "URL_TEXT_PATTERN",
        "VersionInfo",
        "WireFormatError",
        "format_instant",
        "is_url_text",
        "is_valid_context_identifier",
        "parse_instant",
    ]


def test_lifecycle_exports() -> None:
    assert sorted(tenantstatus.lifecycle.__all__) == [
        "Activity",
        "Announcement",
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


def test_delivery_exports() -> None:
    assert sorted(tenantstatus.delivery.__all__) == [
        "Dispatcher",
        "DispatcherSettings",
        "PageSigner",
        "Resolver",
        "RetrySchedule",
        "StaticResolver",
        "SystemResolver",
        "UnsafeAddress",
        "UnsafeUrl",
        "UrlPolicy",
        "safe_async_transport",
    ]


def test_service_exports() -> None:
    assert sorted(tenantstatus.service.__all__) == [
        "ServiceApp",
        "Services",
        "app_from_environment",
        "compose_app",
        "create_app",
    ]


def test_service_errors_exports() -> None:
    assert sorted(tenantstatus.service.errors.__all__) == [
        "DeliveryHeld",
        "InvalidApplication",
        "NotFound",
        "RolloutConflict",
        "RolloutRefused",
        "ServiceError",
        "ServiceUnavailable",
        "UnknownApplication",
        "UnknownApproval",
        "UnknownDelivery",
        "UnknownNotice",
        "UnknownRollout",
        "UnknownScheduledOperation",
        "UnknownTenant",
    ]


def test_state_api_exports() -> None:
    assert sorted(tenantstatus.service.state.__all__) == [
        "Answer",
        "StateCache",
        "StateFastProtocol",
        "StateRoute",
        "ValidityClock",
    ]


def test_tenants_exports() -> None:
    assert sorted(tenantstatus.service.tenants.__all__) == [
        "ImportItem",
        "Scheduler",
        "TenantService",
        "follow_changes",
    ]


def test_push_exports() -> None:
    assert sorted(tenantstatus.service.push.__all__) == [
        "ApplicationService",
        "NewCredentials",
    ]


def test_portal_exports() -> None:
    assert sorted(tenantstatus.service.portal.__all__) == [
        "FORM_MAX_BYTES",
        "FORM_PATHS",
        "portal_router",
    ]


def test_notices_exports() -> None:
    assert sorted(tenantstatus.service.notices.__all__) == [
        "MessageText",
        "NoticeOut",
        "UntilInstant",
    ]


def test_rollouts_exports() -> None:
    assert sorted(tenantstatus.service.rollouts.__all__) == [
        "Conductor",
        "RolloutService",
        "WaveShape",
        "format_span",
    ]


def test_every_exported_name_exists() -> None:
    modules = (
        tenantstatus,
        tenantstatus.model,
        tenantstatus.lifecycle,
        tenantstatus.store,
        tenantstatus.delivery,
        tenantstatus.service,
        tenantstatus.service.errors,
        tenantstatus.service.state,
        tenantstatus.service.tenants,
        tenantstatus.service.push,
        tenantstatus.service.portal,
        tenantstatus.service.notices,
        tenantstatus.service.rollouts,
    )
    for module in modules:
        for name in module.__all__:
            assert hasattr(module, name), f"{module.__name__}.{name}"
