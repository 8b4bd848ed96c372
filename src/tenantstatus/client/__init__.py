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
from tenantstatus.client.catchup import (
    AsyncNotificationFeed,
    FeedPage,
    NotificationFeed,
    PulledNotification,
)
from tenantstatus.client.environments import ENVIRONMENTS, base_url_for
from tenantstatus.client.errors import (
    AlgorithmNotAllowed,
    CatchUpRefused,
    ChangeTypeMismatch,
    ClaimMismatch,
    ContextMismatch,
    DuplicateDelivery,
    FileVersionMismatch,
    InvalidSignature,
    InvalidWebhookSignature,
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
from tenantstatus.client.gate import AsyncTenantGate, TenantGate
from tenantstatus.client.gate_core import TenantEvent, TenantEventKind
from tenantstatus.client.policy import CachePolicy, RetryPolicy
from tenantstatus.client.pull import AsyncTenantStatusClient, TenantStatusClient
from tenantstatus.client.receiver import NotificationReceiver
from tenantstatus.client.transport import AsyncTenantTransport, TenantTransport
from tenantstatus.client.verifier_core import ALLOWED_ALGORITHMS, VerifiedNotification
from tenantstatus.client.verify import AsyncNotificationVerifier, NotificationVerifier

__all__ = [
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
]
