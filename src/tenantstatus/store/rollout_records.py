"""The records of rollouts: the plan, the rollout, its progress and its history."""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from tenantstatus.model import TenantState

__all__ = [
    "Rollout",
    "RolloutDraft",
    "RolloutEvent",
    "RolloutMember",
    "RolloutPhase",
    "RolloutProgress",
    "RolloutSelector",
    "RolloutStatus",
]


class RolloutStatus(enum.StrEnum):
    """Where a rollout is in its life."""

    SCHEDULED = "scheduled"  # no wave released yet
    RUNNING = "running"
    PAUSED = "paused"
    ABORTED = "aborted"
    DONE = "done"

    @property
    def is_finished(self) -> bool:
        """Nothing more will be released."""
        return self in (RolloutStatus.ABORTED, RolloutStatus.DONE)


class RolloutPhase(enum.StrEnum):
    """Where one tenant is in its rollout (its scheduled operation's `rollout_phase`)."""

    PLANNED = "planned"  # held: its wave is not released
    RELEASED = "released"  # its wave is released; the scheduler runs it at its instant
    RUNNING = "running"  # ran; waits for its second step (upgrade-done, restore-done)
    LATE = "late"  # running past its expected duration
    DONE = "done"
    DONE_LATE = "done_late"  # done, but after its expected duration
    REFUSED = "refused"  # the lifecycle refused the operation at its instant
    CANCELLED = "cancelled"  # aborted before it started, or cancelled by hand


#: Phases that hold a tenant in its rollout (no other rollout may take it).
UNFINISHED_PHASES = (
    RolloutPhase.PLANNED,
    RolloutPhase.RELEASED,
    RolloutPhase.RUNNING,
    RolloutPhase.LATE,
)
#: Phases that count against the cap on tenants in progress.
IN_PROGRESS_PHASES = (RolloutPhase.RELEASED, RolloutPhase.RUNNING, RolloutPhase.LATE)
#: Phases that spend the failure budget.
FAILED_PHASES = (RolloutPhase.LATE, RolloutPhase.DONE_LATE, RolloutPhase.REFUSED)


@dataclass(frozen=True, slots=True)
class RolloutSelector:
    """Which tenants a rollout takes: every given criterion must hold."""

    host: str | None = None
    state: int | None = None
    version: str | None = None  # a glob on VersionName or FileVersion
    context_identifiers: Sequence[str] | None = None

    def describe(self) -> dict[str, Any]:
        """The criteria given, for the rollout's record."""
        described: dict[str, Any] = {
            "Host": self.host,
            "State": None if self.state is None else TenantState(self.state).name,
            "Version": self.version,
            "FromFile": None if self.context_identifiers is None else len(self.context_identifiers),
        }
        return {k: v for k, v in described.items() if v is not None}


@dataclass(frozen=True, slots=True)
class RolloutDraft:
    """What an operator asks for: the operation, the selection and the shape."""

    operation: str
    parameters: Mapping[str, Any]
    selector: RolloutSelector
    start_at: datetime
    window_end: datetime
    batch_size: int
    max_in_progress: int
    expected_seconds: int
    message: str | None = None
    max_failures: int | None = None
    max_failure_percent: float | None = None


@dataclass(frozen=True, slots=True)
class RolloutProgress:
    """How many of a rollout's tenants are in each phase."""

    counts: Mapping[RolloutPhase, int] = field(default_factory=dict)

    def of(self, *phases: RolloutPhase) -> int:
        """How many tenants are in any of `phases`."""
        return sum(self.counts.get(p, 0) for p in phases)

    @property
    def planned(self) -> int:
        return self.of(RolloutPhase.PLANNED)

    @property
    def in_progress(self) -> int:
        return self.of(*IN_PROGRESS_PHASES)

    @property
    def done(self) -> int:
        return self.of(RolloutPhase.DONE, RolloutPhase.DONE_LATE)

    @property
    def late(self) -> int:
        return self.of(RolloutPhase.LATE, RolloutPhase.DONE_LATE)

    @property
    def refused(self) -> int:
        return self.of(RolloutPhase.REFUSED)

    @property
    def cancelled(self) -> int:
        return self.of(RolloutPhase.CANCELLED)

    @property
    def failures(self) -> int:
        return self.of(*FAILED_PHASES)


@dataclass(frozen=True, slots=True)
class Rollout:
    """One rollout as stored, with its progress when read with it."""

    id: int
    operation: str
    parameters: Mapping[str, Any]
    selection: Mapping[str, Any]
    start_at: datetime
    window_end: datetime
    batch_size: int
    max_in_progress: int
    expected_seconds: int
    tenant_count: int
    wave_count: int
    next_wave: int
    status: RolloutStatus
    created_by: str
    created_at: datetime
    message: str | None = None
    max_failures: int | None = None
    max_failure_percent: float | None = None
    forgiven: int = 0
    reason: str | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    progress: RolloutProgress = field(default_factory=RolloutProgress)


@dataclass(frozen=True, slots=True)
class RolloutMember:
    """One tenant of a rollout: its wave, its instant and its phase."""

    context_identifier: str
    wave: int
    run_at: datetime
    phase: RolloutPhase
    started_at: datetime | None = None
    error: str | None = None


@dataclass(frozen=True, slots=True)
class RolloutEvent:
    """One entry of a rollout's history: what happened, who did it, when."""

    id: int
    rollout_id: int
    action: str
    actor: str
    at: datetime
    detail: str | None = None
