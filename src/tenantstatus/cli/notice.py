"""`tenantstatus notice ...`: messages on every tenant of a host, or on a list of tenants."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.markup import escape

from tenantstatus.cli.operator_api import USAGE, CommandError, OperatorApi
from tenantstatus.cli.output import console, print_json, print_table
from tenantstatus.model import parse_instant

__all__ = ["app"]

app = typer.Typer(
    help="Notices: messages on every tenant of a host, or on a list of tenants.",
    no_args_is_help=True,
)

JsonFlag = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]
UntilOpt = Annotated[
    str | None,
    typer.Option("--until", help="When it is expected to end: an ISO-8601 instant."),
]
NoticeIdArg = Annotated[int, typer.Argument(metavar="ID", help="The notice's id.", min=1)]
TextArg = Annotated[str, typer.Argument(metavar="TEXT", help="The message, as plain text.")]


def _api(ctx: typer.Context) -> OperatorApi:
    settings: dict[str, Any] = ctx.obj
    return OperatorApi(settings["url"], settings["token"])


def _until(text: str | None) -> str | None:
    if text is None:
        return None
    try:
        return parse_instant(text).isoformat()
    except ValueError:
        raise CommandError(
            f"--until {text!r} is not an ISO-8601 instant with a zone, e.g. 2026-12-01T02:30:00Z",
            USAGE,
        ) from None


def _covers(notice: dict[str, Any]) -> str:
    if notice["Host"]:
        return f"every tenant on {notice['Host']}"
    if notice["ContextIdentifier"]:
        return str(notice["ContextIdentifier"])
    listed = notice["ContextIdentifiers"]
    return f"{len(listed)} tenants" if listed else "a list of tenants"


def print_notices(title: str | None, notices: list[dict[str, Any]]) -> None:
    """Print notices as a table, each message cut to its first 60 characters."""
    print_table(
        title,
        ("id", "status", "covers", "posted", "until", "updates", "message"),
        (
            (
                n["Id"], n["Status"], _covers(n), n["PostedAt"], n["Until"],
                len(n["Updates"]), escape(n["Body"][:60]),
            )
            for n in notices
        ),
    )  # fmt: skip


def _print(notice: dict[str, Any], as_json: bool, verb: str) -> None:
    if as_json:
        print_json(notice)
        return
    until = f", until {notice['Until']}" if notice["Until"] else ""
    console.print(
        f"notice #{notice['Id']} {verb}: {_covers(notice)}, {notice['Status']}{until}",
        markup=False,
    )


@app.command("post")
def post(
    ctx: typer.Context,
    text: TextArg,
    host: Annotated[
        str | None, typer.Option("--host", help="Every tenant whose Endpoint is on this host.")
    ] = None,
    tenants: Annotated[
        list[str] | None,
        typer.Option(
            "--tenant", metavar="<ctx>", help="A tenant it covers (repeat the flag for a list)."
        ),
    ] = None,
    until: UntilOpt = None,
    as_json: JsonFlag = False,
) -> None:
    """Post a notice on every tenant of a host (--host) or on the tenants listed (--tenant)."""
    if (host is None) == (not tenants):
        raise CommandError("give either --host HOST or one or more --tenant CTX", USAGE)
    body: dict[str, Any] = {"Body": text}
    if host is not None:
        body["Host"] = host
    else:
        body["ContextIdentifiers"] = tenants
    if until is not None:
        body["Until"] = _until(until)
    with _api(ctx) as api:
        _print(api.request("POST", "/admin/notices", json=body), as_json, "posted")


@app.command("update")
def update(
    ctx: typer.Context,
    notice_id: NoticeIdArg,
    text: TextArg,
    until: UntilOpt = None,
    as_json: JsonFlag = False,
) -> None:
    """Post an update on an open notice (and a new expected end with --until)."""
    body: dict[str, Any] = {"Body": text}
    if until is not None:
        body["Until"] = _until(until)
    with _api(ctx) as api:
        _print(
            api.request("POST", f"/admin/notices/{notice_id}/updates", json=body),
            as_json,
            "updated",
        )


@app.command("resolve")
def resolve(
    ctx: typer.Context,
    notice_id: NoticeIdArg,
    text: Annotated[
        str | None, typer.Argument(metavar="TEXT", help="A last update, if any.")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Resolve an open notice, optionally with a last update."""
    body = None if text is None else {"Body": text}
    with _api(ctx) as api:
        _print(
            api.request("POST", f"/admin/notices/{notice_id}/resolve", json=body),
            as_json,
            "resolved",
        )


@app.command("show")
def show(ctx: typer.Context, notice_id: NoticeIdArg, as_json: JsonFlag = False) -> None:
    """Show a notice and its updates."""
    with _api(ctx) as api:
        notice = api.request("GET", f"/admin/notices/{notice_id}")
    if as_json:
        print_json(notice)
        return
    _print(notice, False, "covers")
    console.print(f"{notice['PostedAt']}  {notice['Body']}", markup=False)
    for item in notice["Updates"]:
        console.print(f"{item['PostedAt']}  {item['Body']}", markup=False)


@app.command("list")
def list_notices(
    ctx: typer.Context,
    every: Annotated[bool, typer.Option("--all", help="Resolved ones too.")] = False,
    before: Annotated[
        int | None, typer.Option("--before", help="The previous page's `more:` id.")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=500)] = 100,
    as_json: JsonFlag = False,
) -> None:
    """List notices, newest first: open ones unless --all."""
    params = {"status": "all" if every else "open", "before": before, "limit": limit}
    with _api(ctx) as api:
        page = api.request("GET", "/admin/notices", params=params)
    if as_json:
        print_json(page)
        return
    print_notices(None, page["Notices"])
    if page["Next"]:
        console.print(f"more: --before {page['Next']}")
