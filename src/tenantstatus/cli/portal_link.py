"""`tenantstatus app portal-link APP`: a single-use link into the application's portal."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from tenantstatus.cli.operator_api import OperatorApi
from tenantstatus.cli.output import console, print_json

__all__ = ["portal_link"]


def portal_link(
    ctx: typer.Context,
    application_id: Annotated[str, typer.Argument(help="The application id, app_...")],
    as_json: Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")] = False,
) -> None:
    """Mint a link that opens the application's vendor portal once, within 15 minutes.

    Send it to the vendor; it is printed once and stored only as a hash.
    """
    settings: dict[str, Any] = ctx.obj
    with OperatorApi(settings["url"], settings["token"]) as api:
        link = api.request("POST", f"/admin/applications/{application_id}/portal-link")
    if as_json:
        print_json(link)
        return
    console.print(
        f"portal link for {link['ApplicationId']} (single use, until {link['ExpiresAt']}):"
    )
    console.print(link["Url"], soft_wrap=True)
