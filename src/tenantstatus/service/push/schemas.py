"""The operator API's documents for applications and deliveries."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field

from tenantstatus.store.push_records import Application, Attempt, Delivery

__all__ = [
    "ApplicationCreate",
    "ApplicationCredentials",
    "ApplicationOut",
    "ApplicationPage",
    "ApprovalOut",
    "AttemptOut",
    "DeliveryDetail",
    "DeliveryOut",
    "DeliveryPage",
    "EnableBody",
    "EnabledOut",
    "RecoverBody",
    "RecoverOut",
    "UrlBody",
]

# http(s), then only what a URL carries unencoded (model.URL_TEXT_PATTERN). Whether the
# host resolves to a public address is checked at registration, not expressible here.
STATE_CHANGE_URL_PATTERN = r"^https?://(?:[A-Za-z0-9._~:/?#\[\]@!$&'()*+,;=-]|%[0-9A-Fa-f]{2})+$"
_STATE_CHANGE_URL = re.compile(STATE_CHANGE_URL_PATTERN)


def _url_text(value: str) -> str:
    if _STATE_CHANGE_URL.fullmatch(value) is None:
        raise ValueError(
            "must be an http(s) URL of only the characters a URL carries unencoded: "
            "percent-encode spaces, quotes, < > and non-ASCII"
        )
    return value


StateChangeUrl = Annotated[
    str,
    AfterValidator(_url_text),
    Field(
        min_length=1,
        max_length=2048,
        json_schema_extra={"pattern": STATE_CHANGE_URL_PATTERN},
        description="Where notifications are POSTed: https, and every address its host "
        "resolves to must be public (unless the operator allowed its network).",
        examples=["https://hooks.example.com/tenantstatus/notify"],
    ),
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ApplicationCreate(_Strict):
    """Register an application and its State Change URL."""

    Name: Annotated[str, Field(min_length=1, max_length=200, examples=["Billing sync"])]
    Url: StateChangeUrl


class UrlBody(_Strict):
    """A new State Change URL."""

    Url: StateChangeUrl


class RecoverBody(_Strict):
    """Send again every dead delivery created since `Since` (at most `Limit` this call)."""

    Since: Annotated[AwareDatetime, Field(examples=["2026-02-23T00:00:00Z"])]
    Limit: Annotated[int, Field(ge=1, le=1000, examples=[500])] = 500


class EnableBody(_Strict):
    """Enable: send the deliveries held while disabled (oldest first), or drop them."""

    DropHeld: Annotated[bool, Field(strict=True, examples=[False])] = False


class RecoverOut(BaseModel):
    """What a recover call re-queued, and whether more remain."""

    Recovered: int
    Remaining: bool


class ApplicationOut(BaseModel):
    """An application; never its token or secret."""

    Id: str
    Name: str
    Url: str
    Enabled: bool
    DisabledReason: str | None
    DisabledAt: datetime | None
    CreatedAt: datetime
    SecretRotating: bool
    Deliveries: dict[str, int] = {}

    @classmethod
    def of(
        cls, application: Application, now: datetime, counts: dict[str, int] | None = None
    ) -> ApplicationOut:
        """Describe an application."""
        until = application.previous_secret_until
        return cls(
            Id=application.id,
            Name=application.name,
            Url=application.url,
            Enabled=application.enabled,
            DisabledReason=application.disabled_reason,
            DisabledAt=application.disabled_at,
            CreatedAt=application.created_at,
            SecretRotating=until is not None and until > now,
            Deliveries=counts or {},
        )


class EnabledOut(ApplicationOut):
    """An application just enabled, and what became of its held deliveries."""

    Released: int = Field(description="Held deliveries now queued, oldest first.")
    Dropped: int = Field(description="Held deliveries dropped (DropHeld).")


class ApplicationCredentials(BaseModel):
    """Shown once: the application's own API token and its webhook secret."""

    Application: ApplicationOut
    Token: str | None
    Secret: str


class ApplicationPage(BaseModel):
    """Applications, by id."""

    Applications: list[ApplicationOut]


class ApprovalOut(BaseModel):
    """An approval: the tenant's notifications go to the application."""

    ApplicationId: str
    ContextIdentifier: str
    Approved: bool


class DeliveryOut(BaseModel):
    """One notification for one application."""

    Id: str
    ApplicationId: str
    ContextIdentifier: str
    ChangeType: str
    Status: str
    Attempts: int
    NextAttemptAt: datetime | None
    CreatedAt: datetime
    FinishedAt: datetime | None
    LastStatus: int | None
    LastError: str | None
    Test: bool = Field(
        False, description="A test notification (`app test`): no tenant changed; tried once."
    )

    @classmethod
    def of(cls, delivery: Delivery) -> DeliveryOut:
        """Describe a delivery."""
        return cls(
            Id=delivery.id,
            ApplicationId=delivery.application_id,
            ContextIdentifier=delivery.context_identifier,
            ChangeType=delivery.change_type.name,
            Status=str(delivery.status),
            Attempts=delivery.attempts
            if delivery.attempts_made is None
            else delivery.attempts_made,
            NextAttemptAt=delivery.next_attempt_at if delivery.status == "pending" else None,
            CreatedAt=delivery.created_at,
            FinishedAt=delivery.finished_at,
            LastStatus=delivery.last_status,
            LastError=delivery.last_error,
            Test=delivery.test,
        )


class AttemptOut(BaseModel):
    """One POST and what came back."""

    At: datetime
    StatusCode: int | None
    LatencyMs: int
    Error: str | None
    ResponseExcerpt: str | None

    @classmethod
    def of(cls, attempt: Attempt) -> AttemptOut:
        """Describe an attempt."""
        return cls(
            At=attempt.at,
            StatusCode=attempt.status_code,
            LatencyMs=attempt.latency_ms,
            Error=attempt.error,
            ResponseExcerpt=attempt.response_excerpt,
        )


class DeliveryDetail(BaseModel):
    """A delivery with all its attempts."""

    Delivery: DeliveryOut
    Attempts: list[AttemptOut]


class DeliveryPage(BaseModel):
    """Deliveries, newest first; pass `Next` as `after` for the next (older) page."""

    Deliveries: list[DeliveryOut]
    Next: int | None
