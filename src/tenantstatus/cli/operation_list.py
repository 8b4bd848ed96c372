"""The operations `tenant op` runs, one line each, drawn from the lifecycle table."""

from __future__ import annotations

from tenantstatus.lifecycle import RULES, Operation
from tenantstatus.model import TenantState

__all__ = ["complete_operation", "operation_lines"]

_NEEDS = {
    Operation.UPGRADE: "needs --version-name and --file-version",
    Operation.MOVE: "needs --endpoint",
    Operation.SET_VERSION: "needs --version-name, --file-version or --version-document",
}
_TARGETS = {Operation.INCIDENT_DONE: "the state before the incident"}


def _states(states: frozenset[TenantState]) -> str:
    missing = frozenset(TenantState) - states
    if len(missing) <= 2:
        return "any state but " + " and ".join(s.name for s in TenantState if s in missing)
    return ", ".join(s.name for s in TenantState if s in states)


def _line(operation: Operation) -> str:
    if operation is Operation.PROVISION:
        return "creates the tenant: use `tenantstatus tenant add`"
    rule = RULES[operation]
    target = _TARGETS.get(operation) or (
        "state unchanged" if rule.target is None else rule.target.name
    )
    parts = [f"{_states(rule.sources)} -> {target}"]
    if rule.announces is not None:
        parts.append(f"announces {rule.announces.name}")
    if operation in _NEEDS:
        parts.append(_NEEDS[operation])
    return "; ".join(parts)


def operation_lines() -> list[str]:
    """One line per operation: its name, the states it runs from and to, what it announces."""
    width = max(len(operation.value) for operation in Operation)
    return [f"{operation.value:<{width}}  {_line(operation)}" for operation in Operation]


def complete_operation(incomplete: str) -> list[tuple[str, str]]:
    """Shell completion for an operation name: the names that start so, with their line."""
    return [(op.value, _line(op)) for op in Operation if op.value.startswith(incomplete)]
