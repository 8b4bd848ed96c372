"""A rollout's arithmetic: how many waves, when each starts, and whether they fit."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from tenantstatus.service.errors import RolloutRefused

__all__ = ["WaveShape", "format_span"]


def format_span(seconds: float) -> str:
    """A duration as people write it: `2h30m`, `45m`, `90s`."""
    whole = int(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [
        f"{hours}h" if hours else "",
        f"{minutes}m" if minutes else "",
        f"{secs}s" if secs else "",
    ]
    return "".join(parts) or "0s"


@dataclass(frozen=True, slots=True)
class WaveShape:
    """Waves of `batch_size`, as many at once as `max_in_progress` holds, each round
    `expected` long, from `start` to no later than `window_end`.
    """

    start: datetime
    window_end: datetime
    batch_size: int
    max_in_progress: int
    expected: timedelta

    def __post_init__(self) -> None:
        if self.batch_size < 1 or self.max_in_progress < 1:
            raise RolloutRefused("--batch-size and --max-in-progress must be at least 1")
        if self.batch_size > self.max_in_progress:
            raise RolloutRefused(
                f"a wave of {self.batch_size} can never start under --max-in-progress "
                f"{self.max_in_progress}; make the batch size at most the cap"
            )
        if self.expected <= timedelta(0):
            raise RolloutRefused("--expected-duration must be positive")
        if self.window_end <= self.start:
            raise RolloutRefused("--window-end must lie after --start")

    @property
    def waves_at_once(self) -> int:
        """How many waves the cap lets run side by side."""
        return self.max_in_progress // self.batch_size

    def instants(self, tenant_count: int) -> list[datetime]:
        """Each wave's planned instant; `RolloutRefused`, with the arithmetic, if they do
        not all end within the window.
        """
        waves = math.ceil(tenant_count / self.batch_size)
        rounds = math.ceil(waves / self.waves_at_once)
        needed = self.expected * rounds
        window = self.window_end - self.start
        if needed > window:
            at_once = f", {self.waves_at_once} at a time" if self.waves_at_once > 1 else ""
            raise RolloutRefused(
                f"{tenant_count} tenants in {waves} waves of {self.batch_size}{at_once}: "
                f"{rounds} × {format_span(self.expected.total_seconds())} = "  # noqa: RUF001
                f"{format_span(needed.total_seconds())} exceeds the window of "
                f"{format_span(window.total_seconds())}; widen the window, or raise "
                "--batch-size or --max-in-progress"
            )
        return [self.start + self.expected * (k // self.waves_at_once) for k in range(waves)]
