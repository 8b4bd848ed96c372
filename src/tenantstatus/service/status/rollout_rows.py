"""Rollouts as the overview and the feed show them: pure views."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from tenantstatus.service.status.zones import Moment, ReaderZone
from tenantstatus.store import Rollout

__all__ = ["RolloutRow", "rollout_rows"]


@dataclass(frozen=True, slots=True)
class RolloutRow:
    """One rollout under way: what it does, where it is, and how far along."""

    id: int
    operation: str
    status: str
    reason: str | None
    tenant_count: int
    finished: int
    planned: int
    in_progress: int
    done: int
    late: int
    refused: int
    start: Moment
    message: str | None

    @property
    def percent(self) -> int:
        """Finished tenants (done, refused or cancelled) as a whole percentage."""
        return 100 if not self.tenant_count else self.finished * 100 // self.tenant_count


def rollout_rows(rollouts: Sequence[Rollout], zone: ReaderZone) -> list[RolloutRow]:
    """The overview's rows, one per rollout."""
    rows = []
    for r in rollouts:
        p = r.progress
        rows.append(
            RolloutRow(
                id=r.id,
                operation=r.operation,
                status=str(r.status),
                reason=r.reason,
                tenant_count=r.tenant_count,
                finished=p.done + p.refused + p.cancelled,
                planned=p.planned,
                in_progress=p.in_progress,
                done=p.done,
                late=p.late,
                refused=p.refused,
                start=Moment(r.start_at, zone),
                message=r.message,
            )
        )
    return rows
