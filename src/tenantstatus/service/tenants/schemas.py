"""The operator API's documents. Field names are PascalCase, like the wire contract's."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from tenantstatus.lifecycle import Operation as OperationName
from tenantstatus.lifecycle import Tenant, allowed_operations
from tenantstatus.model import CONTEXT_IDENTIFIER_PATTERN
from tenantstatus.store import HistoryEntry, ScheduledOperation

__all__ = [
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

ContextId = Annotated[
    str,
    Field(pattern=f"^{CONTEXT_IDENTIFIER_PATTERN.pattern}$", examples=["Cust12345"]),
]
Url = Annotated[
    str, Field(min_length=1, max_length=2048, examples=["https://sod2.example.com/Cust12345"])
]
Label = Annotated[str, Field(max_length=256)]
DocumentMap = Annotated[
    dict[Annotated[str, Field(max_length=128)], Annotated[str, Field(max_length=2048)]],
    Field(max_length=64, description="The installation's API version document (spec section 2)."),
]
MAX_IMPORT = 10_000


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Parameters(_Strict):
    Endpoint: Url | None = None
    State: Annotated[str, Field(max_length=32, examples=["Running"])] | None = None
    VersionName: Label | None = None
    FileVersion: Label | None = None
    VersionDocument: DocumentMap | None = None

    def parameters(self) -> dict[str, Any]:
        """The operation parameters that were given."""
        return self.model_dump(
            include={"Endpoint", "State", "VersionName", "FileVersion", "VersionDocument"},
            exclude_none=True,
        )


class TenantCreate(_Parameters):
    """Provision a tenant: now, or at `At`."""

    ContextIdentifier: ContextId
    Endpoint: Url
    At: AwareDatetime | None = None


class OperationBody(_Parameters):
    """Run an operation on a tenant: now, or at `At`."""

    Operation: OperationName
    At: AwareDatetime | None = None


class ImportItemBody(_Parameters):
    """One tenant of a bulk import."""

    ContextIdentifier: ContextId
    Endpoint: Url


class ImportBody(_Strict):
    """Tenants to create; ones that exist already are skipped."""

    Tenants: Annotated[list[ImportItemBody], Field(max_length=MAX_IMPORT)]


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
    """A tenant with its recent history and its pending scheduled operations."""

    Tenant: TenantOut
    History: list[HistoryOut]
    Scheduled: list[ScheduledOut]


class TenantPage(BaseModel):
    """A page of tenants; pass `Next` as `after` for the next page."""

    Tenants: list[TenantOut]
    Next: str | None


class ScheduledPage(BaseModel):
    """Scheduled operations, soonest first."""

    Scheduled: list[ScheduledOut]
