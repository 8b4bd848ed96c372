"""The client's public surface is a visible decision: this list changes only on purpose."""

from __future__ import annotations

import tenantstatus.client as client

PUBLIC = {
    "ALLOWED_ALGORITHMS",
    "ENVIRONMENTS",
    "AlgorithmNotAllowed",
    "AsyncNotificationFeed",
    "AsyncNotificationVerifier",
    "AsyncTenantGate",
    "AsyncTenantStatusClient",
    "AsyncTenantTransport",
    "CachePolicy",
    "CatchUpRefused",
    "ChangeTypeMismatch",
    "ClaimMismatch",
    "ContextMismatch",
    "DuplicateDelivery",
    "FeedPage",
    "FileVersionMismatch",
    "InvalidSignature",
    "InvalidWebhookSignature",
    "KeySetUnavailable",
    "MalformedNotification",
    "NotificationFeed",
    "NotificationReceiver",
    "NotificationRejected",
    "NotificationVerifier",
    "PulledNotification",
    "PulledStatus",
    "RetryPolicy",
    "StatusCache",
    "StatusUnavailable",
    "TenantEvent",
    "TenantEventKind",
    "TenantGate",
    "TenantMisdirected",
    "TenantNotRunning",
    "TenantStatusClient",
    "TenantStatusError",
    "TenantTransport",
    "TenantWaitTimeout",
    "TokenExpired",
    "TokenNotYetValid",
    "UnexpectedResponse",
    "UnknownSigningKey",
    "VerifiedNotification",
    "WrongAudience",
    "WrongIssuer",
    "base_url_for",
}


def test_the_client_exports_exactly_its_public_names() -> None:
    assert set(client.__all__) == PUBLIC
    assert len(client.__all__) == len(PUBLIC)


def test_every_exported_name_exists_and_has_a_docstring() -> None:
    for name in client.__all__:
        member = getattr(client, name)
        if callable(member):
            assert member.__doc__, f"{name} has no docstring"


def test_every_client_exception_descends_from_one_base() -> None:
    for name in client.__all__:
        member = getattr(client, name)
        if isinstance(member, type) and issubclass(member, Exception):
            assert issubclass(member, client.TenantStatusError), name
