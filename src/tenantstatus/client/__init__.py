"""The vendor SDK: know each tenant's state before calling it, and trust only verified news.

Installed without the server extra (`pip install tenantstatus`): nothing here imports
FastAPI, SQLAlchemy, Starlette or the service.

    from tenantstatus.client import TenantStatusClient

    with TenantStatusClient(env="online") as client:
        if client.is_running("Cust12345"):
            base = client.endpoint("Cust12345")
"""

from __future__ import annotations

from tenantstatus.client.cache import PulledStatus, StatusCache
from tenantstatus.client.environments import ENVIRONMENTS, base_url_for
from tenantstatus.client.errors import (
    AlgorithmNotAllowed,
    ChangeTypeMismatch,
    ClaimMismatch,
    ContextMismatch,
    DuplicateDelivery,
    FileVersionMismatch,
    InvalidSignature,
    KeySetUnavailable,
    MalformedNotification,
    NotificationRejected,
    StatusUnavailable,
    TenantMisdirected,
    TenantNotRunning,
    TenantStatusError,
    TenantWaitTimeout,
    TokenExpired,
    TokenNotYetValid,
    UnexpectedResponse,
    UnknownSigningKey,
    WrongAudience,
    WrongIssuer,
)
from tenantstatus.client.policy import CachePolicy, RetryPolicy
from tenantstatus.client.pull import AsyncTenantStatusClient, TenantStatusClient
from tenantstatus.client.verify import (
    ALLOWED_ALGORITHMS,
    AsyncNotificationVerifier,
    NotificationVerifier,
    VerifiedNotification,
)

__all__ = [
    "ALLOWED_ALGORITHMS",
    "ENVIRONMENTS",
    "AlgorithmNotAllowed",
    "AsyncNotificationVerifier",
    "AsyncTenantStatusClient",
    "CachePolicy",
    "ChangeTypeMismatch",
    "ClaimMismatch",
    "ContextMismatch",
    "DuplicateDelivery",
    "FileVersionMismatch",
    "InvalidSignature",
    "KeySetUnavailable",
    "MalformedNotification",
    "NotificationRejected",
    "NotificationVerifier",
    "PulledStatus",
    "RetryPolicy",
    "StatusCache",
    "StatusUnavailable",
    "TenantMisdirected",
    "TenantNotRunning",
    "TenantStatusClient",
    "TenantStatusError",
    "TenantWaitTimeout",
    "TokenExpired",
    "TokenNotYetValid",
    "UnexpectedResponse",
    "UnknownSigningKey",
    "VerifiedNotification",
    "WrongAudience",
    "WrongIssuer",
    "base_url_for",
]
