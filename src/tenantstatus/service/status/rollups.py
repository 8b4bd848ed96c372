"""The 90-day bar's settled days, kept in memory so a page never re-reads 90 days.

Days before today do not change once they are over, unless a history row is written
into them after the fact. So for each (tenant, reader's zone, today) the page keeps
the uptime of the settled days and the newest history id it had seen; a page view
counts the rows above that id dated before today (an index seek past the id, so it
reads only the newest rows) and computes afresh only when there are any. Today is
always computed from its own rows. One tenant's history ids grow in commit order:
every backend writes them while holding that tenant's row.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime

from tenantstatus.model import TenantState
from tenantstatus.service.status.rendering import DayFragments
from tenantstatus.service.status.uptime import Uptime
from tenantstatus.service.status.views import DayCell

__all__ = ["Rollup", "RollupCache"]


@dataclass(frozen=True, slots=True)
class Rollup:
    """The settled days of one tenant's window, as of the start of today."""

    checkpoint: datetime
    newest_id: int
    settled: Uptime
    state_at_checkpoint: TenantState | None
    cells: tuple[DayCell, ...]
    fragments: DayFragments | None = None
    announced_at_checkpoint: bool = False


class RollupCache:
    """The most recently used rollups, at most `capacity` of them."""

    def __init__(self, capacity: int = 4096) -> None:
        self._capacity = capacity
        self._entries: OrderedDict[tuple[str, str, datetime], Rollup] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, context_identifier: str, zone: str, checkpoint: datetime) -> Rollup | None:
        """The rollup for the tenant, zone and day starting at `checkpoint`, or None."""
        key = (context_identifier, zone, checkpoint)
        found = self._entries.get(key)
        if found is not None:
            self._entries.move_to_end(key)
        return found

    def put(self, context_identifier: str, zone: str, rollup: Rollup) -> None:
        """Keep `rollup`, dropping the least recently used one when full."""
        self._entries[(context_identifier, zone, rollup.checkpoint)] = rollup
        self._entries.move_to_end((context_identifier, zone, rollup.checkpoint))
        while len(self._entries) > self._capacity:
            self._entries.popitem(last=False)
