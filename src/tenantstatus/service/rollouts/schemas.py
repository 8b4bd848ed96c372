"""The rollout API's documents. Field names are PascalCase, like the rest of the API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from tenantstatus.lifecycle import Operation as OperationName
from tenantstatus.service.notices import MessageText
from tenantstatus.service.tenants.schemas import (
    ContextId,
    DocumentMap,
    FileVersionText,
    StateName,
    Url,
    VersionNameText,
)
from tenantstatus.store import Rollout, RolloutEvent, RolloutMember

__all__ = [
    "MAX_SELECTED_IDS",
    "ProgressOut",
    "RolloutCreate",
    "RolloutDetail",
    "RolloutOut",
    "RolloutPage",
    "SelectBody",
]

MAX_SELECTED_IDS = 200_000
MAX_WAVES_SHOWN = 1000


class SelectBody(BaseModel):
    """Which tenants: every criterion given must hold; none given selects every tenant."""

    Host: (
        Annotated[str, Field(min_length=1, max_length=253, examples=["sod2.example.com"])] | None
    ) = None
    State: StateName | None = None
    Version: Annotated[str, Field(min_length=1, max_length=200, examples=["11.10*"])] | None = None
    ContextIdentifiers: Annotated[list[ContextId], Field(max_length=MAX_SELECTED_IDS)] | None = None

    model_config = ConfigDict(extra="forbid")


class RolloutCreate(BaseModel):
    """One operation over a frozen selection, in waves within a window.

    `Version` is a glob (`*`, `?`) on VersionName or FileVersion. Waves of `BatchSize`
    start `ExpectedDuration` seconds apart (as many at once as `MaxInProgress` holds),
    from `Start` (default now); the last must end by `WindowEnd`, or the plan is refused
    with the arithmetic.
    """

    Operation: Annotated[OperationName, Field(examples=["upgrade"])]
    Endpoint: Url | None = None
    VersionName: VersionNameText | None = None
    FileVersion: FileVersionText | None = None
    VersionDocument: DocumentMap | None = None
    Message: MessageText | None = None
    Select: SelectBody = Field(default_factory=SelectBody)
    Start: AwareDatetime | None = None
    WindowEnd: AwareDatetime
    BatchSize: Annotated[int, Field(ge=1, le=100_000, strict=True)]
    MaxInProgress: Annotated[int, Field(ge=1, le=1_000_000, strict=True)]
    ExpectedDuration: Annotated[
        int, Field(ge=1, le=7 * 86400, strict=True, description="Seconds per tenant.")
    ]
    MaxFailures: Annotated[int, Field(ge=0, le=1_000_000, strict=True)] | None = None
    MaxFailurePercent: Annotated[float, Field(ge=0, le=100, strict=True)] | None = None

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "Operation": "upgrade",
                    "VersionName": "Release 11.11",
                    "FileVersion": "11.11.0",
                    "Message": "Upgrading sod2 to 11.11 tonight.",
                    "Select": {"Host": "sod2.example.com", "Version": "11.10*"},
                    "Start": "2030-03-14T01:00:00Z",
                    "WindowEnd": "2030-03-14T05:00:00Z",
                    "BatchSize": 200,
                    "MaxInProgress": 400,
                    "ExpectedDuration": 900,
                    "MaxFailurePercent": 2,
                }
            ]
        },
    )

    def parameters(self) -> dict[str, Any]:
        """The operation parameters that were given."""
        return self.model_dump(
            include={"Endpoint", "VersionName", "FileVersion", "VersionDocument"},
            exclude_none=True,
        )


class ProgressOut(BaseModel):
    """How many tenants are in each phase. `InProgress` includes the late still running."""

    Planned: int
    InProgress: int
    Done: int
    Late: int
    Refused: int
    Cancelled: int


class RolloutOut(BaseModel):
    """A rollout, with its progress."""

    Id: int
    Operation: str
    Parameters: dict[str, Any]
    Message: str | None
    Selection: dict[str, Any]
    Start: datetime
    WindowEnd: datetime
    BatchSize: int
    MaxInProgress: int
    ExpectedDuration: int
    MaxFailures: int | None
    MaxFailurePercent: float | None
    Status: str
    Reason: str | None
    TenantCount: int
    WaveCount: int
    WavesReleased: int
    CreatedBy: str
    CreatedAt: datetime
    StartedAt: datetime | None
    FinishedAt: datetime | None
    Progress: ProgressOut
    Waves: list[datetime] = Field(
        default_factory=list, description="Each wave's planned instant (the first 1000)."
    )

    @classmethod
    def of(cls, rollout: Rollout, waves: list[datetime] | None = None) -> RolloutOut:
        """Describe a rollout."""
        p = rollout.progress
        return cls(
            Id=rollout.id,
            Operation=rollout.operation,
            Parameters=dict(rollout.parameters),
            Message=rollout.message,
            Selection=dict(rollout.selection),
            Start=rollout.start_at,
            WindowEnd=rollout.window_end,
            BatchSize=rollout.batch_size,
            MaxInProgress=rollout.max_in_progress,
            ExpectedDuration=rollout.expected_seconds,
            MaxFailures=rollout.max_failures,
            MaxFailurePercent=rollout.max_failure_percent,
            Status=str(rollout.status),
            Reason=rollout.reason,
            TenantCount=rollout.tenant_count,
            WaveCount=rollout.wave_count,
            WavesReleased=rollout.next_wave,
            CreatedBy=rollout.created_by,
            CreatedAt=rollout.created_at,
            StartedAt=rollout.started_at,
            FinishedAt=rollout.finished_at,
            Progress=ProgressOut(
                Planned=p.planned,
                InProgress=p.in_progress,
                Done=p.done,
                Late=p.late,
                Refused=p.refused,
                Cancelled=p.cancelled,
            ),
            Waves=(waves or [])[:MAX_WAVES_SHOWN],
        )


class MemberOut(BaseModel):
    """One tenant of a rollout that needs a look: late or refused."""

    ContextIdentifier: str
    Wave: int
    At: datetime
    Phase: str
    StartedAt: datetime | None
    Error: str | None

    @classmethod
    def of(cls, member: RolloutMember) -> MemberOut:
        """Describe a member."""
        return cls(
            ContextIdentifier=member.context_identifier,
            Wave=member.wave,
            At=member.run_at,
            Phase=str(member.phase),
            StartedAt=member.started_at,
            Error=member.error,
        )


class EventOut(BaseModel):
    """One entry of a rollout's history."""

    Action: str
    Actor: str
    At: datetime
    Detail: str | None

    @classmethod
    def of(cls, event: RolloutEvent) -> EventOut:
        """Describe an event."""
        return cls(Action=event.action, Actor=event.actor, At=event.at, Detail=event.detail)


class RolloutDetail(RolloutOut):
    """A rollout with its late and refused tenants (the first 100) and its history."""

    Attention: list[MemberOut]
    History: list[EventOut]


class RolloutPage(BaseModel):
    """Rollouts newest first; `Next` is the `Before` of the next page."""

    Rollouts: list[RolloutOut]
    Next: int | None
