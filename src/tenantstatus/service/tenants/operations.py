"""Operation requests as the admin API and the schedule carry them: PascalCase parameters."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tenantstatus.lifecycle import InvalidOperation, Operation, OperationRequest
from tenantstatus.model import TenantState

__all__ = ["parameters_of", "request_from"]


def request_from(operation: str, parameters: Mapping[str, Any]) -> OperationRequest:
    """Build a lifecycle request from an operation name and its wire parameters."""
    try:
        op = Operation(operation)
    except ValueError:
        names = ", ".join(o.value for o in Operation)
        raise InvalidOperation(f"unknown operation {operation!r}; known: {names}") from None
    state = None
    state_name = parameters.get("State")
    if state_name is not None:
        state = TenantState.from_name(str(state_name))
        if state is None:
            names = ", ".join(s.name for s in TenantState)
            raise InvalidOperation(f"unknown state {state_name!r}; known: {names}")
    document = parameters.get("VersionDocument")
    return OperationRequest(
        operation=op,
        endpoint=parameters.get("Endpoint"),
        state=state,
        version_name=parameters.get("VersionName"),
        file_version=parameters.get("FileVersion"),
        version_document=None if document is None else dict(document),
    )


def parameters_of(request: OperationRequest) -> dict[str, Any]:
    """The wire parameters of a request, without the ones it does not carry."""
    parameters: dict[str, Any] = {
        "Endpoint": request.endpoint,
        "State": None if request.state is None else request.state.name,
        "VersionName": request.version_name,
        "FileVersion": request.file_version,
        "VersionDocument": None
        if request.version_document is None
        else dict(request.version_document),
    }
    return {k: v for k, v in parameters.items() if v is not None}
