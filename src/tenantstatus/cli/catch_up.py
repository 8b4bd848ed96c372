"""`tenantstatus deliveries catch-up APP`: read the notifications a receiver missed."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from tenantstatus.cli.operator_api import OperatorApi
from tenantstatus.cli.output import console, print_json, print_table

__all__ = ["catch_up"]


def catch_up(
    ctx: typer.Context,
    application_id: Annotated[str, typer.Argument(help="The application id, app_...")],
    after: Annotated[
        int,
        typer.Option(
            "--after", min=0, help="The cursor the last run printed; 0 from the oldest kept."
        ),
    ] = 0,
    limit: Annotated[int, typer.Option("--limit", min=1, max=1000)] = 100,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the page as JSON: bodies and tokens too.")
    ] = False,
) -> None:
    """One page of the application's notifications after --after, oldest first.

    Each is signed afresh, with the `webhook-id` (Id) its push carries; the application's
    own token may read it. The last line is the cursor to pass next time.
    """
    settings: dict[str, Any] = ctx.obj
    params = {"after": after, "limit": limit}
    with OperatorApi(settings["url"], settings["token"]) as api:
        page = api.request(
            "GET", f"/admin/applications/{application_id}/notifications", params=params
        )
    if as_json:
        print_json(page)
        return
    print_table(
        None,
        ("Cursor", "Id", "Tenant", "Change", "Status", "Created"),
        (
            (
                n["Cursor"],
                n["Id"],
                n["ContextIdentifier"],
                n["ChangeType"] + (" (test)" if n["Test"] else ""),
                n["Status"],
                n["CreatedAt"],
            )
            for n in page["Notifications"]
        ),
    )
    state = "more" if page["More"] else "caught up"
    console.print(f"{state}: --after {page['Next']}")
