"""The notices API's documents; PascalCase, like the rest of the operator API."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from tenantstatus.model import CONTEXT_IDENTIFIER_PATTERN
from tenantstatus.store import Notice, NoticeUpdate
from tenantstatus.store.notice_sql import MAX_LISTED_TENANTS

__all__ = [
    "MAX_MESSAGE",
    "MessageText",
    "NoticeNote",
    "NoticeOut",
    "NoticePage",
    "NoticePost",
    "NoticeResolve",
    "NoticeUpdateOut",
    "UntilInstant",
]

MAX_MESSAGE = 4000
HOST_PATTERN = (
    r"^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$"
)
# Anything but newlines and tabs below U+0020, DEL and the C1 controls.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
# The same rule for OpenAPI: no control character, and one that is not white space.
_ALLOWED = r"[^\x00-\x08\x0b-\x1f\x7f-\x9f]"
MESSAGE_PATTERN = rf"^{_ALLOWED}*[^\s\x00-\x1f\x7f-\x9f]{_ALLOWED}*$"
_HOST = re.compile(HOST_PATTERN)
MESSAGE_EXAMPLE = "Upgrading to 11.12; back by 02:30. Notes: https://status.example.com/11.12"
INSTANT_EXAMPLE = "2030-03-14T02:30:00Z"


def _message(text: str) -> str:
    text = text.replace("\r\n", "\n").strip()
    if not text:
        raise ValueError("must not be empty")
    if _CONTROL.search(text):
        raise ValueError("must be plain text: no control characters but newlines and tabs")
    return text


MessageText = Annotated[
    str,
    Field(
        min_length=1,
        max_length=MAX_MESSAGE,
        description="Plain text a person wrote; http(s) links become links, nothing else "
        "is markup (it is always shown escaped).",
        examples=[MESSAGE_EXAMPLE],
        json_schema_extra={"pattern": MESSAGE_PATTERN},
    ),
    AfterValidator(_message),
]
"""A message: plain text with links, at most 4,000 characters."""

UntilInstant = Annotated[
    AwareDatetime,
    Field(
        description="When it is expected to end, with a zone; in the future.",
        examples=[INSTANT_EXAMPLE],
    ),
]


def _host(value: str) -> str:
    if _HOST.fullmatch(value) is None:
        raise ValueError("must be a host name such as sod2.example.com (no scheme, no port)")
    return value.lower()


HostName = Annotated[
    str,
    Field(
        max_length=253,
        json_schema_extra={"pattern": HOST_PATTERN},
        description="Every tenant whose Endpoint is on this host.",
        examples=["sod2.example.com"],
    ),
    AfterValidator(_host),
]
ContextId = Annotated[
    str, Field(pattern=f"^{CONTEXT_IDENTIFIER_PATTERN.pattern}$", examples=["Cust12345"])
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class NoticePost(_Strict):
    """A notice on every tenant of a host, or on the tenants listed (exactly one of them)."""

    Body: MessageText
    Until: UntilInstant | None = None
    Host: HostName | None = None
    ContextIdentifiers: (
        Annotated[list[ContextId], Field(min_length=1, max_length=MAX_LISTED_TENANTS)] | None
    ) = None

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "Body": "sod2 is degraded; we are on it.",
                    "Host": "sod2.example.com",
                    "Until": INSTANT_EXAMPLE,
                },
                {"Body": "Mail is delayed.", "ContextIdentifiers": ["Cust12345", "Cust12346"]},
            ]
        },
    )

    @model_validator(mode="after")
    def _one_scope(self) -> NoticePost:
        if (self.Host is None) == (self.ContextIdentifiers is None):
            raise ValueError("give exactly one of Host and ContextIdentifiers")
        return self


class NoticeNote(_Strict):
    """An update on a notice under way, and optionally a new expected end."""

    Body: MessageText
    Until: UntilInstant | None = None


class NoticeResolve(_Strict):
    """Resolve a notice, optionally with a last update."""

    Body: MessageText | None = None


class NoticeUpdateOut(BaseModel):
    """An update on a notice."""

    Id: int
    Body: str
    PostedAt: datetime
    PostedBy: str

    @classmethod
    def of(cls, update: NoticeUpdate) -> NoticeUpdateOut:
        """Describe an update."""
        return cls(
            Id=update.id, Body=update.body, PostedAt=update.posted_at, PostedBy=update.posted_by
        )


NOTICE_EXAMPLE: dict[str, Any] = {
    "Id": 7,
    "Status": "open",
    "Scope": "host",
    "Body": "sod2 is degraded; we are on it.",
    "PostedAt": "2030-03-14T01:10:00Z",
    "PostedBy": "operator",
    "UpdatedAt": "2030-03-14T01:40:00Z",
    "Until": INSTANT_EXAMPLE,
    "ResolvedAt": None,
    "Resolution": None,
    "ContextIdentifier": None,
    "Host": "sod2.example.com",
    "ContextIdentifiers": [],
    "Operation": None,
    "ScheduledId": None,
    "HistoryId": None,
    "Updates": [
        {
            "Id": 3,
            "Body": "The database has failed over.",
            "PostedAt": "2030-03-14T01:40:00Z",
            "PostedBy": "operator",
        }
    ],
}


class NoticeOut(BaseModel):
    """A notice: `Status` is `planned` (its scheduled operation has not run), `open` or
    `resolved`; `Resolution` says why it was resolved."""

    Id: int
    Status: str
    Scope: str
    Body: str
    PostedAt: datetime
    PostedBy: str
    UpdatedAt: datetime
    Until: datetime | None
    ResolvedAt: datetime | None
    Resolution: str | None
    ContextIdentifier: str | None
    Host: str | None
    ContextIdentifiers: list[str]
    Operation: str | None
    ScheduledId: int | None
    HistoryId: int | None
    Updates: list[NoticeUpdateOut]

    model_config = ConfigDict(json_schema_extra={"examples": [NOTICE_EXAMPLE]})

    @classmethod
    def of(cls, notice: Notice) -> NoticeOut:
        """Describe a notice."""
        status = "planned" if notice.is_planned else "open" if notice.is_open else "resolved"
        return cls(
            Id=notice.id,
            Status=status,
            Scope=str(notice.scope),
            Body=notice.body,
            PostedAt=notice.posted_at,
            PostedBy=notice.posted_by,
            UpdatedAt=notice.updated_at,
            Until=notice.until,
            ResolvedAt=notice.resolved_at,
            Resolution=None if notice.resolution is None else str(notice.resolution),
            ContextIdentifier=notice.context_identifier,
            Host=notice.host,
            ContextIdentifiers=list(notice.context_identifiers),
            Operation=notice.operation,
            ScheduledId=notice.scheduled_id,
            HistoryId=notice.history_id,
            Updates=[NoticeUpdateOut.of(u) for u in notice.updates],
        )


class NoticePage(BaseModel):
    """Notices, newest first; pass `Next` as `before` for the next page."""

    Notices: list[NoticeOut]
    Next: int | None
