"""Everything the service half raises, in one tree; each class knows its HTTP answer.

    ServiceError                      base: 500 "Internal error"
    ├── NotFound                      404 "Not found": the request names nothing that exists
    │   ├── UnknownTenant             no tenant has this ContextIdentifier
    │   ├── UnknownScheduledOperation no pending scheduled operation has this id
    │   ├── UnknownApplication        no application has this id
    │   ├── UnknownApproval           the tenant has not approved the application
    │   ├── UnknownDelivery           no delivery has this id
    │   ├── UnknownNotice             no (open) notice has this id, or the tenant has none open
    │   └── UnknownRollout            no rollout has this id
    ├── InvalidApplication            422 "Not acceptable": e.g. a malformed ContextIdentifier
    ├── DeliveryHeld                  409 "Delivery held": its application is disabled;
    │                                 `app enable` sends it, in order, with the others
    ├── RolloutConflict               409 "Rollout conflict": tenants in an unfinished
    │                                 rollout, or a pause/resume/abort its state refuses
    ├── RolloutRefused                422 "Rollout refused": the plan does not fit its
    │                                 window (with the arithmetic), or a bad shape
    └── ServiceUnavailable            503 "Database unavailable", with Retry-After

Raised below the service and answered by the same handlers (`problems`):

    TransitionRefused   (lifecycle)   409 "Operation not allowed", with the current state
                                      and the operations allowed now
    InvalidOperation    (lifecycle)   422 "Invalid operation"
    UnsafeUrl           (delivery)    422 "Not acceptable"
    StoreUnavailable    (store)       503, as are the database driver's connection errors;
                                      any other database error is a 500, and is logged

This module imports nothing, so every layer of the service may raise from it.
"""

from __future__ import annotations

__all__ = [
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


class ServiceError(Exception):
    """Base of the service's exceptions; `status` and `title` are its problem+json answer."""

    status = 500
    title = "Internal error"

    @property
    def detail(self) -> str:
        """The problem document's `detail`: what happened, for the caller."""
        return str(self)


class NotFound(ServiceError, LookupError):
    """The thing the request names does not exist."""

    status = 404
    title = "Not found"


class UnknownTenant(NotFound):
    """No tenant has this ContextIdentifier."""

    def __init__(self, context_identifier: str) -> None:
        super().__init__(f"no tenant {context_identifier}")
        self.context_identifier = context_identifier


class UnknownScheduledOperation(NotFound):
    """No pending scheduled operation has this id."""

    def __init__(self, scheduled_id: int, *, pending: bool = True) -> None:
        what = "pending scheduled operation has id" if pending else "scheduled operation"
        super().__init__(f"no {what} {scheduled_id}")
        self.scheduled_id = scheduled_id


class UnknownApplication(NotFound):
    """No application has this id."""

    def __init__(self, application_id: str) -> None:
        super().__init__(f"no application {application_id}")
        self.application_id = application_id


class UnknownApproval(NotFound):
    """The tenant has not approved the application."""

    def __init__(self, application_id: str, context_identifier: str) -> None:
        super().__init__(f"{context_identifier} has not approved {application_id}")
        self.application_id = application_id
        self.context_identifier = context_identifier


class UnknownDelivery(NotFound):
    """No delivery has this id."""

    def __init__(self, delivery_id: str) -> None:
        super().__init__(f"no delivery {delivery_id}")
        self.delivery_id = delivery_id


class UnknownNotice(NotFound):
    """No notice (or no open one) has this id, or the tenant has no open notice."""

    def __init__(self, detail: str, *, notice_id: int | None = None) -> None:
        super().__init__(detail)
        self.notice_id = notice_id


class UnknownRollout(NotFound):
    """No rollout has this id."""

    def __init__(self, rollout_id: int) -> None:
        super().__init__(f"no rollout {rollout_id}")
        self.rollout_id = rollout_id


class RolloutConflict(ServiceError):
    """Tenants are in an unfinished rollout already, or the rollout's state refuses it."""

    status = 409
    title = "Rollout conflict"


class RolloutRefused(ServiceError, ValueError):
    """The rollout's plan does not fit its window, or its shape is not acceptable."""

    status = 422
    title = "Rollout refused"


class InvalidApplication(ServiceError, ValueError):
    """An application's settings or its request are not acceptable."""

    status = 422
    title = "Not acceptable"


class DeliveryHeld(ServiceError):
    """The delivery is held for its disabled application; enabling the application sends it."""

    status = 409
    title = "Delivery held"

    def __init__(self, delivery_id: str, application_id: str) -> None:
        super().__init__(
            f"{delivery_id} is held while application {application_id} is disabled; enable "
            f"the application to send it, in order with the others held "
            f"(tenantstatus app enable {application_id})"
        )
        self.delivery_id = delivery_id
        self.application_id = application_id


class ServiceUnavailable(ServiceError):
    """The database cannot be reached; the operation did not happen. Try again shortly."""

    status = 503
    title = "Database unavailable"
    retry_after = 5
