"""How the sandbox's simulated platform tooling finishes upgrades and restores (no I/O).

When a tenant goes offline for an upgrade or a restore, the platform's tooling does the
work and then reports the second step (`upgrade-done`, `restore-done`) through the
operator API. The sandbox plays that tooling; a `ToolingScript` says how:

    {"Tooling": {"Duration": "30s", "Jitter": 0.2, "Late": 0.05, "LateBy": "5m",
                 "Fail": 0.02, "Seed": 7, "Concurrency": 100}}

Each upgrade's fate comes from a random generator seeded by the seed, the tenant and
how many times the tooling has taken that tenant on, so a given seed picks the same
tenants to fail or run late on every run, whatever the timing:

    >>> script = ToolingScript(duration=30.0, fail=0.1, seed=7)
    >>> script.fate("Cust10001", 0).outcome
    <Outcome.DONE: 'done'>
"""

from __future__ import annotations

import enum
import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tenantstatus.sandbox.scenario_values import ScenarioError, known_keys, parse_duration

__all__ = ["DEFAULT_CONCURRENCY", "DEFAULT_DURATION", "Fate", "Outcome", "ToolingScript"]

#: Seconds an upgrade takes, on average, when nothing else is said.
DEFAULT_DURATION = 10.0
#: Upgrades the tooling works on at once; more wait for a free slot.
DEFAULT_CONCURRENCY = 1000
_KEYS = frozenset({"Duration", "Jitter", "Late", "LateBy", "Fail", "Seed", "Concurrency"})
_MAX_CONCURRENCY = 100_000


class Outcome(enum.StrEnum):
    """What the tooling does with one upgrade."""

    DONE = "done"  # reports the finishing operation after its duration
    LATE = "late"  # the same, past the duration (or never, when LateBy is not given)
    FAILED = "failed"  # rolls back: reports `resume`, the tenant runs its old version


@dataclass(frozen=True, slots=True)
class Fate:
    """One upgrade's outcome and when it is reported; `after` None: never, until told."""

    outcome: Outcome
    after: float | None


@dataclass(frozen=True, slots=True)
class ToolingScript:
    """Duration, jitter, the late and failed shares, the seed and the concurrency cap."""

    duration: float = DEFAULT_DURATION
    jitter: float = 0.2  # each duration is `duration` times 1 +/- up to this
    late: float = 0.0  # share of upgrades that run late
    late_by: float | None = None  # a late one takes this long past the longest on-time one
    fail: float = 0.0  # share of upgrades that fail
    seed: int = 0
    concurrency: int = DEFAULT_CONCURRENCY

    def __post_init__(self) -> None:
        if not 0 <= self.jitter < 1:
            raise ScenarioError("Tooling.Jitter: a fraction from 0 up to (not including) 1")
        for name, share in (("Late", self.late), ("Fail", self.fail)):
            if not 0 <= share <= 1:
                raise ScenarioError(f"Tooling.{name}: a share from 0 to 1, such as 0.05")
        if self.late + self.fail > 1:
            raise ScenarioError("Tooling: Late and Fail add up to more than 1")
        if not 1 <= self.concurrency <= _MAX_CONCURRENCY:
            raise ScenarioError(f"Tooling.Concurrency: from 1 to {_MAX_CONCURRENCY}")

    @classmethod
    def from_json(cls, value: object, where: str = "Tooling") -> ToolingScript:
        """Parse the scenario's `Tooling` object; raises `ScenarioError` naming the fault."""
        if not isinstance(value, Mapping):
            raise ScenarioError(f"{where}: expected a JSON object, got {type(value).__name__}")
        known_keys(value, _KEYS, where)
        fields: dict[str, Any] = {}
        if "Duration" in value:
            fields["duration"] = parse_duration(value["Duration"], f"{where}.Duration")
        if "LateBy" in value:
            fields["late_by"] = parse_duration(value["LateBy"], f"{where}.LateBy")
        for key, name in (("Jitter", "jitter"), ("Late", "late"), ("Fail", "fail")):
            if key in value:
                fields[name] = _number(value[key], f"{where}.{key}")
        for key, name in (("Seed", "seed"), ("Concurrency", "concurrency")):
            if key in value:
                fields[name] = _whole(value[key], f"{where}.{key}")
        return cls(**fields)

    @property
    def longest_on_time(self) -> float:
        """The longest an upgrade that is not late takes."""
        return self.duration * (1 + self.jitter)

    def fate(self, context_identifier: str, episode: int) -> Fate:
        """The outcome of the tenant's `episode`-th upgrade (from 0), the same on every run."""
        rng = random.Random(f"{self.seed}:{context_identifier}:{episode}")  # noqa: S311
        draw = rng.random()
        after = self.duration * (1 + self.jitter * (2 * rng.random() - 1))
        if draw < self.fail:
            return Fate(Outcome.FAILED, after)
        if draw < self.fail + self.late:
            late_after = None if self.late_by is None else self.longest_on_time + self.late_by
            return Fate(Outcome.LATE, late_after)
        return Fate(Outcome.DONE, after)

    def describe(self) -> str:
        """One line for people: `upgrades take 30s +/- 20%, 5% late (never done), ...`."""
        late = "never done" if self.late_by is None else f"{self.late_by:g}s more"
        return (
            f"upgrades and restores take {self.duration:g}s +/- {self.jitter:.0%}, "
            f"{self.late:.1%} late ({late}), {self.fail:.1%} fail and roll back; "
            f"seed {self.seed}, at most {self.concurrency} at once"
        )

    def to_json(self) -> dict[str, Any]:
        """The script with its scenario key names."""
        return {
            "Duration": self.duration,
            "Jitter": self.jitter,
            "Late": self.late,
            "LateBy": self.late_by,
            "Fail": self.fail,
            "Seed": self.seed,
            "Concurrency": self.concurrency,
        }


def _number(value: object, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ScenarioError(f"{where}: expected a number, got {value!r}")
    return float(value)


def _whole(value: object, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ScenarioError(f"{where}: expected a whole number, got {value!r}")
    return value
