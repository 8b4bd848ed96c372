"""Tenant counts per state for the overview, from the in-memory state cache.

Counting a million cached answers takes tens of milliseconds, so the overview keeps
the last count for a few seconds instead of counting on every request (and never
runs `COUNT(*)` on the database).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from tenantstatus.model import TenantState

__all__ = ["StateCounts"]


class StateCounts:
    """`counts_by_state()` of the cache, at most `max_age` seconds old."""

    def __init__(
        self,
        source: Callable[[], dict[TenantState, int]],
        *,
        max_age: float = 5.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._source = source
        self._max_age = max_age
        self._monotonic = monotonic
        self._counts: dict[TenantState, int] = {}
        self._taken = -float("inf")

    def get(self) -> dict[TenantState, int]:
        """The counts, recounted when the last count is older than `max_age`."""
        now = self._monotonic()
        if now - self._taken > self._max_age:
            self._counts = self._source()
            self._taken = now
        return self._counts

    def age(self) -> float:
        """Seconds since the counts were taken."""
        return max(0.0, self._monotonic() - self._taken)
