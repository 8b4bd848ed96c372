"""Sandbox scenarios: which tenants exist, and what happens to them when (no I/O).

A scenario is a JSON document; every key is optional:

    {
      "Notice": "2s",
      "Tenants": [{"ContextIdentifier": "Cust10001", "Host": "sod2"}],
      "Steps": [
        {"At": "1m", "ContextIdentifier": "Cust10001", "Operation": "upgrade",
         "For": "30s", "Every": "10m"},
        {"At": "3m", "ContextIdentifier": "Cust10001", "Operation": "move", "To": "sod3"}
      ],
      "Tooling": {"Duration": "30s", "Late": 0.05, "Fail": 0.02, "Seed": 7}
    }

    >>> scenario = Scenario.from_json(path.read_bytes())
    >>> [step.operation for step in scenario.steps]
    [<Operation.UPGRADE: 'upgrade'>, <Operation.MOVE: 'move'>]

Durations are seconds (a number) or a string with a unit: `"500ms"`, `"30s"`, `"5m"`,
`"1h"`. Offsets (`At`) count from the moment the sandbox is ready. `Tooling` (see
`tooling_script`) makes the sandbox finish every upgrade and restore, however started.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from tenantstatus.lifecycle import Operation, OperationRequest
from tenantstatus.model import TenantState, is_valid_context_identifier
from tenantstatus.sandbox.scenario_values import ScenarioError, known_keys, parse_duration
from tenantstatus.sandbox.tooling_script import ToolingScript

__all__ = [
    "DEFAULT_NOTICE",
    "DEFAULT_TENANTS",
    "FINISHING",
    "Scenario",
    "ScenarioError",
    "SimulatedTenant",
    "Step",
    "is_valid_host",
    "numbered_tenants",
    "parse_duration",
]

#: How long an installation keeps serving after announcing that it goes down.
DEFAULT_NOTICE = 2.0

#: The operation that ends what a step's operation began, `For` seconds later.
FINISHING: Mapping[Operation, Operation] = MappingProxyType(
    {
        Operation.UPGRADE: Operation.UPGRADE_DONE,
        Operation.RESTORE: Operation.RESTORE_DONE,
        Operation.SUSPEND: Operation.RESUME,
        Operation.DELETE: Operation.DELETE_DONE,
        Operation.MAINTENANCE_ONLINE: Operation.MAINTENANCE_DONE,
        Operation.MAINTENANCE_OFFLINE: Operation.MAINTENANCE_DONE,
        Operation.INCIDENT: Operation.INCIDENT_DONE,
        Operation.MIGRATION_PENDING: Operation.MIGRATION_DONE,
    }
)

# What the tooling reports, so a step must not finish it too.
_TOOLING_FINISHES = frozenset({Operation.UPGRADE_DONE, Operation.RESTORE_DONE})
# On the platform these come without warning; everything else is a planned window.
_UNPLANNED = frozenset({Operation.MOVE, Operation.INCIDENT})
_HOST = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")
_SCENARIO_KEYS = frozenset({"Notice", "Tenants", "Steps", "Tooling"})
_TENANT_KEYS = frozenset({"ContextIdentifier", "Host", "State", "VersionName", "FileVersion"})
_STEP_KEYS = frozenset(
    {
        "At",
        "ContextIdentifier",
        "Operation",
        "For",
        "Every",
        "Times",
        "Planned",
        "To",
        "Endpoint",
        "VersionName",
        "FileVersion",
    }
)


def is_valid_host(host: str) -> bool:
    """True for a simulated host name such as `sod2`: lowercase letters, digits and `-`."""
    return _HOST.fullmatch(host) is not None


@dataclass(frozen=True, slots=True)
class SimulatedTenant:
    """A tenant the sandbox creates, with an installation on a simulated host."""

    context_identifier: str
    host: str = "sod2"
    state: TenantState = TenantState.Running
    version_name: str | None = None
    file_version: str | None = None


@dataclass(frozen=True, slots=True)
class Step:
    """One scripted operation on one tenant, perhaps undone later and perhaps repeated."""

    at: float
    context_identifier: str
    operation: Operation
    duration: float | None = None  # `For`: seconds until the finishing operation
    every: float | None = None
    times: int | None = None  # None with `every`: for as long as the sandbox runs
    planned: bool = True
    to_host: str | None = None
    endpoint: str | None = None
    version_name: str | None = None
    file_version: str | None = None

    @property
    def finishing(self) -> Operation | None:
        """The operation that runs `duration` seconds after this one, if any."""
        return FINISHING[self.operation] if self.duration is not None else None

    @property
    def occurrences(self) -> int | None:
        """How many times the step runs; None for no limit."""
        if self.every is None:
            return 1
        return self.times

    def offset(self, occurrence: int) -> float:
        """Seconds from the start to occurrence number `occurrence` (counting from 0)."""
        return self.at + occurrence * (self.every or 0.0)

    def request(self, endpoint: str | None = None) -> OperationRequest:
        """The lifecycle request for this step (a move needs the new `endpoint`)."""
        return OperationRequest(
            self.operation,
            endpoint=endpoint,
            version_name=self.version_name,
            file_version=self.file_version,
        )

    def describe(self) -> str:
        """One line for people: `upgrade Cust1 at +60s for 30s, every 600s`."""
        text = f"{self.operation} {self.context_identifier} at +{self.at:g}s"
        if self.to_host or self.endpoint:
            text += f" to {self.to_host or self.endpoint}"
        if self.duration is not None:
            text += f" for {self.duration:g}s"
        if self.every is not None:
            text += f", every {self.every:g}s"
            text += f", {self.times} times" if self.times is not None else ""
        # Unplanned steps still announce their ChangeType; they are only not on the schedule.
        return text + ("" if self.planned else ", unscheduled")


def _default_tenants() -> tuple[SimulatedTenant, ...]:
    return (
        SimulatedTenant("Cust10001", "sod2"),
        SimulatedTenant("Cust10002", "sod2"),
        SimulatedTenant("Cust10003", "sod3"),
    )


#: The tenants of a scenario that names none.
DEFAULT_TENANTS = _default_tenants()
_FIRST_NUMBER = 10_001
_HOSTS = ("sod2", "sod3")


def numbered_tenants(count: int) -> tuple[SimulatedTenant, ...]:
    """`count` running tenants, `Cust10001` up, on `sod2` and `sod3` in turn."""
    return tuple(
        SimulatedTenant(f"Cust{_FIRST_NUMBER + i}", _HOSTS[i % len(_HOSTS)]) for i in range(count)
    )


@dataclass(frozen=True, slots=True)
class Scenario:
    """Tenants to create, the notice installations give, steps to play, and the tooling.

    With `tooling`, the sandbox plays the platform's tooling: it finishes every upgrade
    and restore it sees, as the script says.
    """

    tenants: tuple[SimulatedTenant, ...] = DEFAULT_TENANTS
    steps: tuple[Step, ...] = ()
    notice: float = DEFAULT_NOTICE
    tooling: ToolingScript | None = None

    def __post_init__(self) -> None:
        names = {tenant.context_identifier for tenant in self.tenants}
        for i, step in enumerate(self.steps):
            if step.context_identifier not in names:
                raise ScenarioError(
                    f"Steps[{i}]: {step.context_identifier} is not one of the scenario's Tenants"
                )
        if self.tooling is None:
            return
        for i, step in enumerate(self.steps):
            if step.finishing in _TOOLING_FINISHES:
                raise ScenarioError(
                    f"Steps[{i}].For: the tooling finishes every {step.operation} itself; "
                    "leave out For (or the Tooling)"
                )

    @classmethod
    def from_json(cls, document: bytes | str | Mapping[str, Any]) -> Scenario:
        """Parse and check a scenario document; raises `ScenarioError` naming the fault."""
        if isinstance(document, bytes | str):
            try:
                document = json.loads(document)
            except ValueError as exc:
                raise ScenarioError(f"not JSON: {exc}") from None
        data = _object(document, "the scenario")
        known_keys(data, _SCENARIO_KEYS, "the scenario")
        notice = parse_duration(data.get("Notice", DEFAULT_NOTICE), "Notice")
        tenants = (
            tuple(
                _tenant(item, f"Tenants[{i}]")
                for i, item in enumerate(_array(data["Tenants"], "Tenants"))
            )
            if "Tenants" in data
            else DEFAULT_TENANTS
        )
        names = [tenant.context_identifier for tenant in tenants]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ScenarioError(f"Tenants: {', '.join(duplicates)} named more than once")
        steps = tuple(
            _step(item, f"Steps[{i}]", set(names))
            for i, item in enumerate(_array(data.get("Steps", []), "Steps"))
        )
        tooling = ToolingScript.from_json(data["Tooling"]) if "Tooling" in data else None
        return cls(tenants=tenants, steps=steps, notice=notice, tooling=tooling)

    def tenant(self, context_identifier: str) -> SimulatedTenant | None:
        """The scenario's tenant with this id."""
        for tenant in self.tenants:
            if tenant.context_identifier == context_identifier:
                return tenant
        return None


def _object(value: object, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ScenarioError(f"{where}: expected a JSON object, got {type(value).__name__}")
    return value


def _array(value: object, where: str) -> Sequence[Any]:
    if not isinstance(value, list):
        raise ScenarioError(f"{where}: expected a JSON array, got {type(value).__name__}")
    return value


def _text(data: Mapping[str, Any], key: str, where: str) -> str | None:
    value = data.get(key)
    if value is not None and not isinstance(value, str):
        raise ScenarioError(f"{where}.{key}: expected a string, got {value!r}")
    return value


def _context_identifier(data: Mapping[str, Any], where: str) -> str:
    value = _text(data, "ContextIdentifier", where)
    if value is None:
        raise ScenarioError(f"{where}: ContextIdentifier is required")
    if not is_valid_context_identifier(value):
        raise ScenarioError(f"{where}.ContextIdentifier: {value!r} is not a ContextIdentifier")
    return value


def _host(data: Mapping[str, Any], key: str, where: str) -> str | None:
    value = _text(data, key, where)
    if value is not None and not is_valid_host(value):
        raise ScenarioError(
            f"{where}.{key}: {value!r} is not a host name (lowercase letters, digits and -)"
        )
    return value


def _tenant(item: object, where: str) -> SimulatedTenant:
    data = _object(item, where)
    known_keys(data, _TENANT_KEYS, where)
    state_name = _text(data, "State", where) or TenantState.Running.name
    state = TenantState.from_name(state_name)
    if state is None or state in (TenantState.Deleted, TenantState.Deleting):
        raise ScenarioError(f"{where}.State: a tenant cannot start in state {state_name!r}")
    return SimulatedTenant(
        context_identifier=_context_identifier(data, where),
        host=_host(data, "Host", where) or "sod2",
        state=state,
        version_name=_text(data, "VersionName", where),
        file_version=_text(data, "FileVersion", where),
    )


def _step(item: object, where: str, tenants: set[str]) -> Step:
    data = _object(item, where)
    known_keys(data, _STEP_KEYS, where)
    context_identifier = _context_identifier(data, where)
    if context_identifier not in tenants:
        raise ScenarioError(
            f"{where}: {context_identifier} is not one of the scenario's Tenants "
            f"({', '.join(sorted(tenants))})"
        )
    operation = _operation(data, where)
    if "At" not in data:
        raise ScenarioError(f"{where}: At is required (seconds from the start, or '5m')")
    duration = parse_duration(data["For"], f"{where}.For") if "For" in data else None
    if duration is not None and operation not in FINISHING:
        raise ScenarioError(
            f"{where}.For: {operation} has no finishing operation; For works with "
            f"{', '.join(sorted(FINISHING))}"
        )
    every = parse_duration(data["Every"], f"{where}.Every") if "Every" in data else None
    if every is not None and every <= (duration or 0.0):
        raise ScenarioError(f"{where}.Every must be longer than For (and above 0)")
    times = data.get("Times")
    if times is not None and (isinstance(times, bool) or not isinstance(times, int) or times < 1):
        raise ScenarioError(f"{where}.Times: expected a whole number of at least 1")
    if times is not None and every is None:
        raise ScenarioError(f"{where}.Times needs Every")
    planned = data.get("Planned", operation not in _UNPLANNED)
    if not isinstance(planned, bool):
        raise ScenarioError(f"{where}.Planned: expected true or false")
    to_host = _host(data, "To", where)
    endpoint = _text(data, "Endpoint", where)
    if operation is Operation.MOVE and (to_host is None) == (endpoint is None):
        raise ScenarioError(f"{where}: a move needs either To (a host) or Endpoint (a URL)")
    if operation is not Operation.MOVE and (to_host or endpoint):
        raise ScenarioError(f"{where}: To and Endpoint belong to a move only")
    return Step(
        at=parse_duration(data["At"], f"{where}.At"),
        context_identifier=context_identifier,
        operation=operation,
        duration=duration,
        every=every,
        times=times,
        planned=planned,
        to_host=to_host,
        endpoint=endpoint,
        version_name=_text(data, "VersionName", where),
        file_version=_text(data, "FileVersion", where),
    )


def _operation(data: Mapping[str, Any], where: str) -> Operation:
    name = _text(data, "Operation", where)
    if name is None:
        raise ScenarioError(f"{where}: Operation is required (e.g. upgrade, suspend, move)")
    try:
        operation = Operation(name)
    except ValueError:
        known = ", ".join(op.value for op in Operation if op is not Operation.PROVISION)
        raise ScenarioError(f"{where}.Operation: unknown {name!r}; known: {known}") from None
    if operation is Operation.PROVISION:
        raise ScenarioError(f"{where}.Operation: list new tenants under Tenants instead")
    return operation
