"""The operator API's documents. Field names are PascalCase, like the wire contract's."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from tenantstatus.lifecycle import PROVISIONABLE_STATES, Tenant, allowed_operations
from tenantstatus.lifecycle import Operation as OperationName
from tenantstatus.model import CONTEXT_IDENTIFIER_PATTERN, TenantState
from tenantstatus.service.notices import MessageText, NoticeOut, UntilInstant
from tenantstatus.store import HistoryEntry, NoticeDraft, ScheduledOperation

__all__ = [
    "ENDPOINT_PATTERN",
    "HistoryOut",
    "ImportBody",
    "ImportOut",
    "OperationBody",
    "OperationResult",
    "ScheduledOut",
    "ScheduledPage",
    "TenantCreate",
    "TenantDetail",
    "TenantOut",
    "TenantPage",
]

CONTEXT_ID_EXAMPLE = "Cust12345"
ENDPOINT_EXAMPLE = "https://online2.superoffice.com/Cust12345"
VERSION_DOCUMENT_EXAMPLE = {
    "v1": "https://online2.superoffice.com/Cust12345/api/v1/",
    "NetServerLabel": "Release_11.10_2026.02.24-02",
    "Version": "v1",
}
AT_EXAMPLE = "2030-03-14T02:00:00Z"
INSTANT_EXAMPLE = "2026-02-23T09:52:01.934296Z"

# An absolute http(s) URL, host and optional port and path, and nothing a URL must
# percent-encode (model.URL_TEXT_PATTERN); no query, fragment or user name.
ENDPOINT_PATTERN = (
    r"^https?://[A-Za-z0-9.-]+(?::[0-9]{1,5})?"
    r"(?:/(?:[A-Za-z0-9._~!$&'()*+,;=:@-]|%[0-9A-Fa-f]{2})*)*$"
)

ContextId = Annotated[
    str,
    Field(
        pattern=f"^{CONTEXT_IDENTIFIER_PATTERN.pattern}$",
        description="The tenant id: a letter, then up to 63 letters, digits, _ and -.",
        examples=[CONTEXT_ID_EXAMPLE],
    ),
]
_ENDPOINT = re.compile(ENDPOINT_PATTERN)


def _endpoint_text(value: str) -> str:
    if _ENDPOINT.fullmatch(value) is None:
        raise ValueError(
            "must be an absolute http(s) URL (host, port, path; no query, fragment or user "
            "name) of only the characters a URL carries unencoded: percent-encode spaces, "
            "quotes, < > and non-ASCII"
        )
    return value


# The pattern is in the schema for readers and fuzzers; the validator says it in words.
Url = Annotated[
    str,
    Field(
        min_length=1,
        max_length=2048,
        json_schema_extra={"pattern": ENDPOINT_PATTERN},
        description="The installation's root URL; the state API's Api is this + /api.",
        examples=[ENDPOINT_EXAMPLE],
    ),
    AfterValidator(_endpoint_text),
]
Label = Annotated[str, Field(max_length=256)]
DocumentMap = Annotated[
    dict[Annotated[str, Field(max_length=128)], Annotated[str, Field(max_length=2048)]],
    Field(
        max_length=64,
        description="The installation's API version document (spec section 2).",
        examples=[VERSION_DOCUMENT_EXAMPLE],
    ),
]
MAX_IMPORT = 10_000

TENANT_EXAMPLE: dict[str, Any] = {
    "ContextIdentifier": CONTEXT_ID_EXAMPLE,
    "Endpoint": ENDPOINT_EXAMPLE,
    "Api": f"{ENDPOINT_EXAMPLE}/api",
    "State": "Suspended",
    "IsRunning": False,
    "StateSince": INSTANT_EXAMPLE,
    "CreatedAt": "2025-11-04T08:15:00Z",
    "VersionName": "Release 11.10 R02",
    "FileVersion": "11.10.9184.1001",
    "Version": "Release_11.10_2026.02.24-02",
    "VersionDocument": VERSION_DOCUMENT_EXAMPLE,
    "Activity": None,
    "AllowedOperations": ["resume", "delete", "move", "set-version", "incident"],
}
HISTORY_EXAMPLE: dict[str, Any] = {
    "Id": 4711,
    "Operation": "suspend",
    "Actor": "operator",
    "At": INSTANT_EXAMPLE,
    "FromState": "Running",
    "ToState": "Suspended",
    "ChangeType": "Suspend",
    "Detail": {},
}
SCHEDULED_EXAMPLE: dict[str, Any] = {
    "Id": 42,
    "ContextIdentifier": CONTEXT_ID_EXAMPLE,
    "Operation": "upgrade",
    "Parameters": {"VersionName": "Release 11.10 R03", "FileVersion": "11.10.9201.1004"},
    "At": AT_EXAMPLE,
    "Status": "pending",
    "CreatedBy": "operator",
    "CreatedAt": INSTANT_EXAMPLE,
    "FinishedAt": None,
    "Error": None,
}


def _state_names(states: frozenset[TenantState] | None = None) -> list[str]:
    return [s.name for s in TenantState if states is None or s in states]


def _known_state(allowed: list[str]) -> AfterValidator:
    def check(name: str) -> str:
        if name not in allowed:
            raise ValueError(f"{name[:32]!r} is not a state allowed here: {', '.join(allowed)}")
        return name

    return AfterValidator(check)


_ALL_STATES = _state_names()
_PROVISIONABLE = _state_names(PROVISIONABLE_STATES)
StateName = Annotated[
    str,
    Field(
        max_length=32,
        json_schema_extra={"enum": _ALL_STATES},
        description="A state name, as the state API writes it.",
        examples=["Running"],
    ),
    _known_state(_ALL_STATES),
]
ProvisionState = Annotated[
    str,
    Field(
        max_length=32,
        json_schema_extra={"enum": _PROVISIONABLE},
        description="The state to create the tenant in (Provisioning when left out).",
        examples=["Running"],
    ),
    _known_state(_PROVISIONABLE),
]
VersionNameText = Annotated[
    Label,
    Field(description="The installation's version, for people.", examples=["Release 11.10 R02"]),
]
FileVersionText = Annotated[
    Label, Field(description="The installation's file-set version.", examples=["11.10.9184.1001"])
]
WhenToRun = Annotated[
    AwareDatetime,
    Field(
        description="When to run it, in the future and with a zone; leave it out to run now.",
        examples=[AT_EXAMPLE],
    ),
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Parameters(_Strict):
    Endpoint: Url | None = None
    State: StateName | None = None
    VersionName: VersionNameText | None = None
    FileVersion: FileVersionText | None = None
    VersionDocument: DocumentMap | None = None

    def parameters(self) -> dict[str, Any]:
        """The operation parameters that were given."""
        return self.model_dump(
            include={"Endpoint", "State", "VersionName", "FileVersion", "VersionDocument"},
            exclude_none=True,
        )


class _Announced(_Parameters):
    Message: MessageText | None = None
    Until: UntilInstant | None = None

    @model_validator(mode="after")
    def _until_needs_a_message(self) -> _Announced:
        if self.Until is not None and self.Message is None:
            raise ValueError("Until is the expected end of a Message: give the Message too")
        return self

    def notice(self) -> NoticeDraft | None:
        """The operation's message, if it carries one."""
        return None if self.Message is None else NoticeDraft(self.Message, self.Until)


class TenantCreate(_Announced):
    """Provision a tenant: now, or at `At`."""

    ContextIdentifier: ContextId
    Endpoint: Url
    State: ProvisionState | None = None
    At: WhenToRun | None = None

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "ContextIdentifier": CONTEXT_ID_EXAMPLE,
                    "Endpoint": ENDPOINT_EXAMPLE,
                    "State": "Running",
                    "VersionName": "Release 11.10 R02",
                    "FileVersion": "11.10.9184.1001",
                }
            ]
        },
    )


class OperationBody(_Announced):
    """Run an operation on a tenant: now, or at `At`.

    `upgrade` needs VersionName and FileVersion, `move` the new Endpoint, `set-version`
    at least one of VersionName, FileVersion and VersionDocument. `Message` (and its
    expected end, `Until`) is shown on the tenant's page while the operation is planned
    or under way.
    """

    Operation: Annotated[OperationName, Field(examples=["suspend"])]
    At: WhenToRun | None = None

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"Operation": "suspend"},
                {
                    "Operation": "upgrade",
                    "VersionName": "Release 11.10 R03",
                    "FileVersion": "11.10.9201.1004",
                    "At": AT_EXAMPLE,
                },
                {"Operation": "move", "Endpoint": "https://online3.superoffice.com/Cust12345"},
                {
                    "Operation": "upgrade",
                    "VersionName": "Release 11.10 R03",
                    "FileVersion": "11.10.9201.1004",
                    "Message": "Upgrading to 11.10 R03; back by 02:30.",
                    "Until": "2030-03-14T02:30:00Z",
                },
            ]
        },
    )


class ImportItemBody(_Parameters):
    """One tenant of a bulk import."""

    ContextIdentifier: ContextId
    Endpoint: Url
    State: ProvisionState | None = None


class ImportBody(_Strict):
    """Tenants to create; ones that exist already are skipped."""

    Tenants: Annotated[list[ImportItemBody], Field(max_length=MAX_IMPORT)]

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "Tenants": [
                        {"ContextIdentifier": "Cust12345", "Endpoint": ENDPOINT_EXAMPLE},
                        {
                            "ContextIdentifier": "Cust12346",
                            "Endpoint": "https://online2.superoffice.com/Cust12346",
                            "State": "Running",
                        },
                    ]
                }
            ]
        },
    )


class ImportOut(BaseModel):
    """What an import did."""

    Created: int
    Skipped: int


class TenantOut(BaseModel):
    """A tenant as the operator sees it."""

    ContextIdentifier: str
    Endpoint: str
    Api: str
    State: str
    IsRunning: bool
    StateSince: datetime
    CreatedAt: datetime
    VersionName: str
    FileVersion: str
    Version: str | None
    VersionDocument: dict[str, str]
    Activity: str | None
    AllowedOperations: list[str]

    model_config = ConfigDict(json_schema_extra={"examples": [TENANT_EXAMPLE]})

    @classmethod
    def of(cls, tenant: Tenant) -> TenantOut:
        """Describe a tenant."""
        return cls(
            ContextIdentifier=tenant.context_identifier,
            Endpoint=tenant.endpoint,
            Api=tenant.api,
            State=tenant.state.name,
            IsRunning=tenant.state.is_running,
            StateSince=tenant.state_since,
            CreatedAt=tenant.created_at,
            VersionName=tenant.version_name,
            FileVersion=tenant.file_version,
            Version=tenant.release_label,
            VersionDocument=dict(tenant.version_document),
            Activity=None if tenant.activity is None else str(tenant.activity),
            AllowedOperations=[str(op) for op in allowed_operations(tenant)],
        )


class HistoryOut(BaseModel):
    """One committed operation."""

    Id: int
    Operation: str
    Actor: str
    At: datetime
    FromState: str | None
    ToState: str
    ChangeType: str | None
    Detail: dict[str, Any]

    model_config = ConfigDict(json_schema_extra={"examples": [HISTORY_EXAMPLE]})

    @classmethod
    def of(cls, entry: HistoryEntry) -> HistoryOut:
        """Describe a history entry."""
        return cls(
            Id=entry.id,
            Operation=entry.operation,
            Actor=entry.actor,
            At=entry.at,
            FromState=None if entry.from_state is None else entry.from_state.name,
            ToState=entry.to_state.name,
            ChangeType=None if entry.change_type is None else entry.change_type.name,
            Detail=dict(entry.detail),
        )


class ScheduledOut(BaseModel):
    """A scheduled operation."""

    Id: int
    ContextIdentifier: str
    Operation: str
    Parameters: dict[str, Any]
    At: datetime
    Status: str
    CreatedBy: str
    CreatedAt: datetime
    FinishedAt: datetime | None
    Error: str | None

    model_config = ConfigDict(json_schema_extra={"examples": [SCHEDULED_EXAMPLE]})

    @classmethod
    def of(cls, scheduled: ScheduledOperation) -> ScheduledOut:
        """Describe a scheduled operation."""
        return cls(
            Id=scheduled.id,
            ContextIdentifier=scheduled.context_identifier,
            Operation=scheduled.operation,
            Parameters=dict(scheduled.parameters),
            At=scheduled.run_at,
            Status=str(scheduled.status),
            CreatedBy=scheduled.created_by,
            CreatedAt=scheduled.created_at,
            FinishedAt=scheduled.finished_at,
            Error=scheduled.error,
        )


class OperationResult(BaseModel):
    """An operation that ran: the tenant as it is now and the history row it wrote."""

    Tenant: TenantOut
    History: HistoryOut


class TenantDetail(BaseModel):
    """A tenant with its recent history, its pending scheduled operations and the
    newest notices shown on its page (its own, its host's and the lists naming it)."""

    Tenant: TenantOut
    History: list[HistoryOut]
    Scheduled: list[ScheduledOut]
    Notices: list[NoticeOut]


class TenantPage(BaseModel):
    """A page of tenants; pass `Next` as `after` for the next page."""

    Tenants: list[TenantOut]
    Next: str | None


class ScheduledPage(BaseModel):
    """Scheduled operations, soonest first."""

    Scheduled: list[ScheduledOut]
