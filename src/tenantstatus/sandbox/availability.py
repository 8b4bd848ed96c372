"""Whether a simulated installation answers now (no I/O).

The platform announces an upgrade, a suspension or a deletion *before* the installation
goes offline. The lifecycle changes the state at the announcement, so the sandbox keeps
the installation serving for a short notice period after such an announcement, as the
platform does, and counts the calls that arrive in it apart from those that arrive
while it is down. A change that announces nothing (offline maintenance, an incident)
takes the installation down at once.

    >>> availability(tenant, last_change, now=now, notice=2.0)
    <Availability.NOTICE: 'notice'>
"""

from __future__ import annotations

import enum
from datetime import datetime, timedelta

from tenantstatus.lifecycle import Tenant
from tenantstatus.model import ChangeType
from tenantstatus.store import HistoryEntry

__all__ = ["PAUSING", "Availability", "availability"]

#: Change types that announce an installation going offline.
PAUSING = frozenset({ChangeType.Upgrade, ChangeType.Suspend, ChangeType.Delete})


class Availability(enum.StrEnum):
    """What an installation does with a call."""

    UP = "up"  # the tenant runs
    NOTICE = "notice"  # announced as going down, still serving
    DOWN = "down"  # refuses every call


def availability(
    tenant: Tenant, last_change: HistoryEntry | None, *, now: datetime, notice: float
) -> Availability:
    """The installation's availability, from the tenant and its latest history entry."""
    if tenant.state.is_running:
        return Availability.UP
    if (
        last_change is not None
        and last_change.change_type in PAUSING
        and last_change.from_state is not None
        and last_change.from_state.is_running
        and now < last_change.at + timedelta(seconds=notice)
    ):
        return Availability.NOTICE
    return Availability.DOWN
