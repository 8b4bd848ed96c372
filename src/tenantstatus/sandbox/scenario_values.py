"""The values a scenario document is made of: durations, and the error naming a fault (no I/O)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

__all__ = ["ScenarioError", "known_keys", "parse_duration"]

_DURATION = re.compile(r"(\d+(?:\.\d*)?|\.\d+)\s*(ms|s|m|h)?")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, None: 1.0}


class ScenarioError(ValueError):
    """The scenario document cannot be played; the message says where and why."""


def parse_duration(value: object, where: str = "duration") -> float:
    """Seconds from a number or a string such as `"90s"`, `"5m"`, `"500ms"`, `"1h"`."""
    if isinstance(value, bool):
        raise ScenarioError(f"{where}: expected seconds or a string like '30s', got {value!r}")
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str) and (match := _DURATION.fullmatch(value.strip())):
        seconds = float(match[1]) * _UNIT_SECONDS[match[2]]
    else:
        raise ScenarioError(
            f"{where}: expected seconds or a string like '500ms', '30s', '5m', '1h', got {value!r}"
        )
    if not seconds >= 0 or seconds == float("inf"):
        raise ScenarioError(f"{where}: must be a finite number of seconds, at least 0")
    return seconds


def known_keys(data: Mapping[str, Any], known: frozenset[str], where: str) -> None:
    """Raise `ScenarioError` naming any key of `data` that is not in `known`."""
    unknown = sorted(set(data) - known)
    if unknown:
        raise ScenarioError(
            f"{where}: unknown key {', '.join(map(repr, unknown))}; known: "
            f"{', '.join(sorted(known))}"
        )
