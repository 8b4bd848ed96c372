"""A clock for tests that moves only when told to (the `Clock` seam)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


class ManualClock:
    """Tells `instant`; `advance` moves it."""

    def __init__(self, start: datetime | None = None) -> None:
        self.instant = start or datetime.now(UTC)

    def now(self) -> datetime:
        return self.instant

    def advance(self, seconds: float) -> None:
        self.instant += timedelta(seconds=seconds)
