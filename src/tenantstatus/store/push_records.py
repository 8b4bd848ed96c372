"""Records of the push side: applications, approvals, deliveries and their attempts."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from tenantstatus.model import ChangeType

__all__ = [
    "Application",
    "Attempt",
    "Delivery",
    "DeliveryOutcome",
    "DeliveryStatus",
    "StoredSigningKey",
]


class DeliveryStatus(enum.StrEnum):
    """Where a delivery is: waiting (or retrying), delivered, given up, held or dropped.

    `held`: the application is disabled; the delivery waits for `app enable`, which
    sends it (in order) or, asked to, drops it. `dropped`: never to be sent.
    """

    PENDING = "pending"
    DELIVERED = "delivered"
    DEAD = "dead"
    HELD = "held"
    DROPPED = "dropped"


@dataclass(frozen=True, slots=True)
class Application:
    """An application vendor's registration. Secrets are stored encrypted, tokens hashed."""

    id: str
    name: str
    url: str
    token_hash: str
    secret: str
    created_at: datetime
    enabled: bool = True
    previous_secret: str | None = None
    previous_secret_until: datetime | None = None
    disabled_reason: str | None = None
    disabled_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Delivery:
    """One notification for one application: the outbox row."""

    seq: int
    id: str
    application_id: str
    context_identifier: str
    history_id: int
    change_type: ChangeType
    version_name: str
    file_version: str
    public_endpoint: str | None
    status: DeliveryStatus
    attempts: int
    next_attempt_at: datetime
    created_at: datetime
    finished_at: datetime | None = None
    last_status: int | None = None
    last_error: str | None = None
    #: A test notification: it announces no change and is tried once, never retried.
    test: bool = False
    # Every attempt recorded, when the read counted them; `attempts` restarts when a
    # delivery is sent again, as it numbers the steps of the retry schedule.
    attempts_made: int | None = None


@dataclass(frozen=True, slots=True)
class Attempt:
    """One POST of a delivery, and what came back."""

    at: datetime
    latency_ms: int
    status_code: int | None = None
    error: str | None = None
    response_excerpt: str | None = None


@dataclass(frozen=True, slots=True)
class DeliveryOutcome:
    """What the dispatcher learned from one attempt, to be written back."""

    seq: int
    attempt: Attempt
    status: DeliveryStatus
    next_attempt_at: datetime | None = None
    disable_application: str | None = None  # the reason, when the receiver answered 410


@dataclass(frozen=True, slots=True)
class StoredSigningKey:
    """A signing key as stored: the private key encrypted.

    Published from `created_at`, signing from `signs_from` (None: from `created_at`),
    and no longer signing from `retired_at`.
    """

    kid: str
    algorithm: str
    private_key: str
    created_at: datetime
    retired_at: datetime | None = None
    signs_from: datetime | None = None
