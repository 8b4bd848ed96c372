"""Everything the client half raises, in one tree.

    TenantStatusError                 base: catch this to catch them all
    ├── StatusUnavailable             the state API could not be reached (connection error,
    │                                 timeout, 5xx after retries) and no answer is left to serve
    ├── UnexpectedResponse            an answer outside the wire contract (4xx, malformed body)
    │   └── CatchUpRefused            the catch-up feed refused the token (401, 403, 404)
    ├── TenantNotRunning              the gate refused: the tenant's API is not usable now
    │   └── TenantWaitTimeout         `gate.running(ctx)` waited longer than its timeout
    ├── TenantMisdirected             421 again on the tenant's new Endpoint after re-pulling
    ├── KeySetUnavailable             the signing keys (JWKS) could not be fetched
    └── NotificationRejected          a notification failed verification; do not trust it
        ├── MalformedNotification     the body or its token does not have the wire shape
        ├── AlgorithmNotAllowed       the token's `alg` is not in the allow-list (none, HS256…)
        ├── UnknownSigningKey         no key in the JWKS has the token's `kid`
        ├── InvalidSignature          the signature does not match (tampered token)
        │   └── InvalidWebhookSignature   the Standard Webhooks headers do not verify
        ├── TokenExpired              `exp` has passed (beyond the leeway)
        ├── TokenNotYetValid          `nbf` or `iat` lies in the future (beyond the leeway)
        ├── WrongIssuer               `iss` is not the configured issuer
        ├── WrongAudience             `aud` is not this application
        ├── ClaimMismatch             the token was signed for another notification
        │   ├── ContextMismatch       `ctx` differs from the body's ContextIdentifier
        │   ├── ChangeTypeMismatch    `change_type` differs from the body's ChangeType
        │   └── FileVersionMismatch   `file_version` differs from the body's FileVersion
        └── DuplicateDelivery         this delivery id (`jti`) was accepted before

Every exception carries what a caller needs to act on it: the tenant, its state and
when to try again, or the HTTP status a receiver should answer.
"""

from __future__ import annotations

from datetime import datetime

from tenantstatus.model import TenantState

__all__ = [
    "AlgorithmNotAllowed",
    "CatchUpRefused",
    "ChangeTypeMismatch",
    "ClaimMismatch",
    "ContextMismatch",
    "DuplicateDelivery",
    "FileVersionMismatch",
    "InvalidSignature",
    "InvalidWebhookSignature",
    "KeySetUnavailable",
    "MalformedNotification",
    "NotificationRejected",
    "StatusUnavailable",
    "TenantMisdirected",
    "TenantNotRunning",
    "TenantStatusError",
    "TenantWaitTimeout",
    "TokenExpired",
    "TokenNotYetValid",
    "UnexpectedResponse",
    "UnknownSigningKey",
    "WrongAudience",
    "WrongIssuer",
]


class TenantStatusError(Exception):
    """Base class of every exception the client half raises."""


class StatusUnavailable(TenantStatusError):
    """The service could not be reached (and, for the state API, no stale answer is left)."""

    def __init__(
        self,
        message: str,
        *,
        context_identifier: str | None = None,
        url: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.context_identifier = context_identifier
        self.url = url
        #: Seconds after which asking again makes sense, when the service said so.
        self.retry_after = retry_after


class UnexpectedResponse(TenantStatusError):
    """An answer outside the wire contract: a 4xx status or a body that does not parse."""

    def __init__(self, message: str, *, url: str, status_code: int | None = None) -> None:
        super().__init__(message)
        self.url = url
        self.status_code = status_code


class CatchUpRefused(UnexpectedResponse):
    """The catch-up feed refused: the token is unknown (401) or not this application's
    (403, 404). Asking again with the same token gives the same answer."""


class TenantNotRunning(TenantStatusError):
    """The tenant's API is not usable now; do not send it requests.

    `state` is None when the state name is new to this version (`state_name` keeps it);
    `retry_at` is when asking again may give another answer (the answer's ValidUntil),
    or None when only a notification will change it.
    """

    def __init__(
        self,
        context_identifier: str,
        state_name: str,
        *,
        retry_at: datetime | None = None,
        reason: str | None = None,
    ) -> None:
        self.context_identifier = context_identifier
        self.state_name = state_name
        self.retry_at = retry_at
        self.reason = reason
        detail = f" ({reason})" if reason else ""
        when = f"; ask again after {retry_at.isoformat()}" if retry_at is not None else ""
        super().__init__(f"tenant {context_identifier} is {state_name}{detail}{when}")

    @property
    def state(self) -> TenantState | None:
        """The known state, or None for a state name this version does not know."""
        return TenantState.from_name(self.state_name)


class TenantWaitTimeout(TenantNotRunning):
    """`gate.running(ctx)` gave up: the tenant did not run within the timeout."""


class TenantMisdirected(TenantStatusError):
    """The tenant answered 421 on its current Endpoint even after re-pulling its state."""

    def __init__(self, context_identifier: str, url: str) -> None:
        super().__init__(
            f"tenant {context_identifier} answered 421 Misdirected Request at {url} "
            "even after re-reading its Endpoint"
        )
        self.context_identifier = context_identifier
        self.url = url


class KeySetUnavailable(TenantStatusError):
    """The signing keys could not be fetched; a receiver answers 503 (try again later)."""

    def __init__(self, message: str, *, url: str) -> None:
        super().__init__(message)
        self.url = url


class NotificationRejected(TenantStatusError):
    """A notification failed verification: trust nothing in it.

    `status_code` is what a receiver answers: 400 for a malformed or inconsistent
    notification, 401 when the token does not prove who sent it.
    """

    status_code = 401

    def __init__(self, message: str, *, context_identifier: str | None = None) -> None:
        super().__init__(message)
        self.context_identifier = context_identifier


class MalformedNotification(NotificationRejected):
    """The body is not a notification, or its token is not a JWT with the required claims."""

    status_code = 400


class AlgorithmNotAllowed(NotificationRejected):
    """The token's `alg` is not in the allow-list (`none`, HS256 and friends are refused)."""


class UnknownSigningKey(NotificationRejected):
    """No key in the issuer's JWKS has the token's `kid`, even after refetching it."""


class InvalidSignature(NotificationRejected):
    """The token's signature does not verify: it was altered or signed by someone else."""


class InvalidWebhookSignature(InvalidSignature):
    """The Standard Webhooks headers are missing, stale, for another delivery, or do not
    verify with the application's webhook secret (checked when the verifier has one)."""


class TokenExpired(NotificationRejected):
    """The token's `exp` has passed, beyond the leeway."""


class TokenNotYetValid(NotificationRejected):
    """The token's `nbf` or `iat` lies in the future, beyond the leeway."""


class WrongIssuer(NotificationRejected):
    """The token's `iss` is not the issuer this verifier trusts."""


class WrongAudience(NotificationRejected):
    """The token's `aud` is not this application."""


class ClaimMismatch(NotificationRejected):
    """The token is genuine but was signed for another notification than this body."""

    status_code = 400


class ContextMismatch(ClaimMismatch):
    """The token's `ctx` differs from the body's ContextIdentifier."""


class ChangeTypeMismatch(ClaimMismatch):
    """The token's `change_type` differs from the body's ChangeType."""


class FileVersionMismatch(ClaimMismatch):
    """The token's `file_version` differs from the body's FileVersion: the body was altered."""


class DuplicateDelivery(NotificationRejected):
    """This delivery id (`jti`) was accepted before; the notification is a replay.

    A receiver answers 200 to it without calling the handler again: the service
    delivers at least once, and a repeat of an accepted delivery needs no retry.
    """

    status_code = 200

    def __init__(self, message: str, *, context_identifier: str, delivery_id: str) -> None:
        super().__init__(message, context_identifier=context_identifier)
        self.delivery_id = delivery_id
