"""What the deliveries page shows of each delivery and attempt, ready for the template."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from tenantstatus.service.status.views import Moment
from tenantstatus.service.status.zones import ReaderZone
from tenantstatus.store.push_records import Attempt, Delivery

__all__ = ["AttemptView", "DeliveryView", "delivery_views"]

EXCERPT_SHOWN = 300


@dataclass(frozen=True, slots=True)
class AttemptView:
    """One attempt: when, what came back (status or error), how long, the answer's start."""

    at: Moment
    outcome: str
    ok: bool
    latency_ms: int
    excerpt: str
    excerpt_cut: bool


@dataclass(frozen=True, slots=True)
class DeliveryView:
    """One delivery with every attempt, oldest first."""

    id: str
    context_identifier: str
    change_type: str
    status: str
    test: bool
    created: Moment
    next_attempt: Moment | None
    last_error: str | None
    attempts: Sequence[AttemptView]
    can_redeliver: bool


def _attempt(attempt: Attempt, zone: ReaderZone) -> AttemptView:
    if attempt.status_code is not None:
        outcome = f"HTTP {attempt.status_code}"
    else:
        outcome = (attempt.error or "no answer").splitlines()[0][:200]
    excerpt = attempt.response_excerpt or ""
    return AttemptView(
        at=Moment(attempt.at, zone),
        outcome=outcome,
        ok=attempt.status_code is not None and 200 <= attempt.status_code < 300,
        latency_ms=attempt.latency_ms,
        excerpt=excerpt[:EXCERPT_SHOWN],
        excerpt_cut=len(excerpt) > EXCERPT_SHOWN,
    )


def delivery_views(
    page: Sequence[tuple[Delivery, Sequence[Attempt]]], zone: ReaderZone
) -> list[DeliveryView]:
    """The page's deliveries, as found (newest first), each with its attempts."""
    return [
        DeliveryView(
            id=d.id,
            context_identifier=d.context_identifier,
            change_type=d.change_type.name,
            status=d.status.value,
            test=d.test,
            created=Moment(d.created_at, zone),
            next_attempt=Moment(d.next_attempt_at, zone) if d.status.value == "pending" else None,
            last_error=d.last_error,
            attempts=[_attempt(a, zone) for a in attempts],
            can_redeliver=d.status.value in ("delivered", "dead", "dropped"),
        )
        for d, attempts in page
    ]
