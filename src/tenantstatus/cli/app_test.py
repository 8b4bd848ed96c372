"""`tenantstatus app test APP`: send the application a test notification and watch it land."""

from __future__ import annotations

import time
from typing import Annotated, Any

import typer

from tenantstatus.cli.operator_api import NEGATIVE, USAGE, CommandError, OperatorApi
from tenantstatus.cli.output import console, print_json
from tenantstatus.model import TEST_CONTEXT_IDENTIFIER, ChangeType

__all__ = ["test"]

_POLL = 0.2


def test(
    ctx: typer.Context,
    application_id: Annotated[str, typer.Argument(help="The application id, app_...")],
    tenant: Annotated[
        str | None,
        typer.Option(
            "--tenant",
            help="A tenant that approved the application; without it, the reserved "
            f"{TEST_CONTEXT_IDENTIFIER}, never a real tenant.",
        ),
    ] = None,
    change_type: Annotated[
        str, typer.Option("--change-type", help=f"One of {', '.join(ChangeType.__members__)}.")
    ] = "Upgrade",
    wait: Annotated[
        float,
        typer.Option("--wait", min=0, max=120, help="Seconds to wait for its one attempt."),
    ] = 20.0,
    as_json: Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")] = False,
) -> None:
    """Send a signed test notification through the outbox; no tenant changes.

    Its token carries the claim "test": true and the POST the header X-Hook-Test: true.
    Exit 0 when the receiver accepted it, 1 when it refused it or did not answer in time.
    """
    if change_type not in ChangeType.__members__:
        raise CommandError(
            f"--change-type {change_type!r} is not a ChangeType; use one of "
            f"{', '.join(ChangeType.__members__)}",
            USAGE,
        )
    body: dict[str, Any] = {"ChangeType": change_type}
    if tenant is not None:
        body["ContextIdentifier"] = tenant
    settings: dict[str, Any] = ctx.obj
    with OperatorApi(settings["url"], settings["token"]) as api:
        queued = api.request("POST", f"/admin/applications/{application_id}/test", json=body)
        detail = _outcome(api, queued["Id"], wait)
    if as_json:
        print_json(detail)
    delivery = detail["Delivery"]
    attempts = detail["Attempts"]
    where = f"{delivery['Id']} ({delivery['ChangeType']}, {delivery['ContextIdentifier']})"
    if delivery["Status"] == "delivered":
        if not as_json:
            attempt = attempts[-1]
            console.print(
                f"test notification {where} delivered: HTTP {attempt['StatusCode']} "
                f"in {attempt['LatencyMs']} ms"
            )
        return
    see = f"see `tenantstatus deliveries show {delivery['Id']}`"
    if delivery["Status"] == "pending":
        raise CommandError(f"test notification {where} not sent within {wait:g} s; {see}")
    raise CommandError(
        f"test notification {where} failed: {delivery['LastError'] or delivery['LastStatus']}; "
        f"{see}",
        NEGATIVE,
    )


def _outcome(api: OperatorApi, delivery_id: str, wait: float) -> dict[str, Any]:
    deadline = time.monotonic() + wait
    while True:
        detail: dict[str, Any] = api.request("GET", f"/admin/deliveries/{delivery_id}")
        if detail["Delivery"]["Status"] != "pending" or time.monotonic() >= deadline:
            return detail
        time.sleep(_POLL)
