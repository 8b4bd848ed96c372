"""`tenantstatus app|deliveries|keys ...`: applications, their notifications, signing keys."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress

from tenantstatus.cli.operator_api import USAGE, CommandError, OperatorApi
from tenantstatus.cli.output import console, print_json, print_table, show
from tenantstatus.model import parse_instant

__all__ = ["apps", "deliveries", "keys"]

apps = typer.Typer(
    help="Applications that receive state change notifications.", no_args_is_help=True
)
deliveries = typer.Typer(help="Notification deliveries and their attempts.", no_args_is_help=True)
keys = typer.Typer(help="The keys that sign notification tokens.", no_args_is_help=True)

JsonFlag = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]
AppArg = Annotated[str, typer.Argument(help="The application id, app_...")]

_APP_FIELDS = ("Id", "Name", "Url", "Enabled", "DisabledReason", "SecretRotating", "CreatedAt")


def _api(ctx: typer.Context) -> OperatorApi:
    settings: dict[str, Any] = ctx.obj
    return OperatorApi(settings["url"], settings["token"])


def _show_credentials(result: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print_json(result)
        return
    application = result["Application"]
    console.print(
        f"application {application['Id']} ({application['Name']}) -> {application['Url']}"
    )
    if result["Token"]:
        console.print(f"API token (shown once):      {result['Token']}")
    console.print(f"webhook secret (shown once): {result['Secret']}")


@apps.command("add")
def add(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="A name people recognise.")],
    url: Annotated[str, typer.Option("--url", help="The State Change URL.")],
    as_json: JsonFlag = False,
) -> None:
    """Register an application; prints its id, API token and webhook secret once."""
    with _api(ctx) as api:
        _show_credentials(
            api.request("POST", "/admin/applications", json={"Name": name, "Url": url}), as_json
        )


@apps.command("list")
def list_apps(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """List applications with their delivery counts."""
    with _api(ctx) as api:
        page = api.request("GET", "/admin/applications")
    if as_json:
        print_json(page)
        return
    print_table(
        None,
        ("Id", "Name", "Enabled", "Url", "pending", "retrying", "delivered", "dead", "held"),
        (
            (
                a["Id"],
                a["Name"],
                "yes" if a["Enabled"] else f"no: {a['DisabledReason']}",
                a["Url"],
                a["Deliveries"].get("pending", 0),
                a["Deliveries"].get("retrying", 0),
                a["Deliveries"].get("delivered", 0),
                a["Deliveries"].get("dead", 0),
                a["Deliveries"].get("held", 0),
            )
            for a in page["Applications"]
        ),
    )


@apps.command("show")
def show_app(ctx: typer.Context, application_id: AppArg, as_json: JsonFlag = False) -> None:
    """Show one application."""
    with _api(ctx) as api:
        application = api.request("GET", f"/admin/applications/{application_id}")
    show(application, as_json, (*_APP_FIELDS, "Deliveries"))


@apps.command("set-url")
def set_url(
    ctx: typer.Context,
    application_id: AppArg,
    url: Annotated[str, typer.Argument(help="The new State Change URL.")],
    as_json: JsonFlag = False,
) -> None:
    """Change an application's State Change URL."""
    with _api(ctx) as api:
        application = api.request(
            "PUT", f"/admin/applications/{application_id}/url", json={"Url": url}
        )
    show(application, as_json, _APP_FIELDS)


@apps.command("rotate-secret")
def rotate_secret(ctx: typer.Context, application_id: AppArg, as_json: JsonFlag = False) -> None:
    """A new webhook secret (printed once); the old one also signs for 24 hours."""
    with _api(ctx) as api:
        _show_credentials(
            api.request("POST", f"/admin/applications/{application_id}/rotate-secret"), as_json
        )


@apps.command("enable")
def enable(
    ctx: typer.Context,
    application_id: AppArg,
    drop_held: Annotated[
        bool,
        typer.Option(
            "--drop-held",
            help="Drop the notifications held while it was disabled instead of sending them.",
        ),
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """Re-enable a subscription that a 410 answer disabled.

    The notifications held while it was disabled are sent, oldest first, unless
    --drop-held drops them.
    """
    with _api(ctx) as api:
        application = api.request(
            "POST",
            f"/admin/applications/{application_id}/enable",
            json={"DropHeld": drop_held},
        )
    show(application, as_json, (*_APP_FIELDS, "Released", "Dropped"))


def _approval(
    ctx: typer.Context, method: str, application_id: str, tenant: str, as_json: bool
) -> None:
    with _api(ctx) as api:
        result = api.request(method, f"/admin/applications/{application_id}/approvals/{tenant}")
    if as_json:
        print_json(result)
    else:
        verb = "approved" if result["Approved"] else "revoked"
        console.print(f"{tenant} {verb} {application_id}")


@apps.command("approve")
def approve(
    ctx: typer.Context,
    application_id: AppArg,
    tenant: Annotated[str, typer.Argument(help="The ContextIdentifier.")],
    as_json: JsonFlag = False,
) -> None:
    """The tenant approves the application: it gets the tenant's later notifications."""
    _approval(ctx, "PUT", application_id, tenant, as_json)


@apps.command("revoke")
def revoke(
    ctx: typer.Context,
    application_id: AppArg,
    tenant: Annotated[str, typer.Argument(help="The ContextIdentifier.")],
    as_json: JsonFlag = False,
) -> None:
    """The tenant withdraws its approval."""
    _approval(ctx, "DELETE", application_id, tenant, as_json)


@deliveries.command("list")
def list_deliveries(
    ctx: typer.Context,
    application: Annotated[str | None, typer.Option("--app", help="Only this application.")] = None,
    tenant: Annotated[str | None, typer.Option("--tenant", help="Only this tenant.")] = None,
    status: Annotated[
        str | None,
        typer.Option("--status", help="pending, delivered, dead, held or dropped."),
    ] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=1000)] = 50,
    after: Annotated[
        int | None,
        typer.Option("--after", min=1, help="The cursor a previous page printed: the next page."),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """List deliveries, newest first; page on with --after."""
    params = {
        "application": application,
        "tenant": tenant,
        "status": status,
        "limit": limit,
        "after": after,
    }
    with _api(ctx) as api:
        page = api.request("GET", "/admin/deliveries", params=params)
    if as_json:
        print_json(page)
        return
    print_table(
        None,
        ("Id", "App", "Tenant", "Change", "Status", "Attempts", "Last"),
        (
            (
                d["Id"],
                d["ApplicationId"],
                d["ContextIdentifier"],
                d["ChangeType"],
                d["Status"],
                d["Attempts"],
                d["LastError"] or d["LastStatus"],
            )
            for d in page["Deliveries"]
        ),
    )
    if page["Next"] is not None:
        console.print(f"more: --after {page['Next']}")


@deliveries.command("show")
def show_delivery(
    ctx: typer.Context,
    delivery_id: Annotated[str, typer.Argument(help="The delivery id, msg_...")],
    as_json: JsonFlag = False,
) -> None:
    """One delivery with every attempt."""
    with _api(ctx) as api:
        detail = api.request("GET", f"/admin/deliveries/{delivery_id}")
    if as_json:
        print_json(detail)
        return
    show(detail["Delivery"], False, tuple(detail["Delivery"]))
    print_table(
        "attempts",
        ("at", "status", "ms", "error", "response"),
        (
            (
                a["At"],
                a["StatusCode"],
                a["LatencyMs"],
                a["Error"],
                (a["ResponseExcerpt"] or "")[:60],
            )
            for a in detail["Attempts"]
        ),
    )


@deliveries.command("redeliver")
def redeliver(
    ctx: typer.Context,
    delivery_id: Annotated[str, typer.Argument(help="The delivery id, msg_...")],
    as_json: JsonFlag = False,
) -> None:
    """Send a delivery again (not a held one: `app enable` sends those, in order)."""
    with _api(ctx) as api:
        detail = api.request("POST", f"/admin/deliveries/{delivery_id}/redeliver")
    if as_json:
        print_json(detail)
    else:
        console.print(f"{delivery_id} queued again")


@deliveries.command("recover")
def recover(
    ctx: typer.Context,
    application_id: AppArg,
    since: Annotated[
        str, typer.Option("--since", help="ISO-8601 instant, e.g. 2026-11-25T00:00:00Z")
    ],
    as_json: JsonFlag = False,
) -> None:
    """Send again every dead delivery of the application since an instant."""
    try:
        instant = parse_instant(since).isoformat()
    except ValueError:
        raise CommandError(
            f"--since {since!r} is not an ISO-8601 instant with a zone, e.g. 2026-11-25T00:00:00Z",
            USAGE,
        ) from None
    total = 0
    with (
        _api(ctx) as api,
        Progress(
            "recovering", BarColumn(), MofNCompleteColumn(), console=console, disable=as_json
        ) as progress,
    ):
        task = progress.add_task("recover", total=None)
        while True:
            result = api.request(
                "POST",
                f"/admin/applications/{application_id}/recover",
                json={"Since": instant, "Limit": 500},
            )
            total += result["Recovered"]
            progress.update(task, completed=total)
            if not result["Remaining"]:
                break
    if as_json:
        print_json({"Recovered": total})
    else:
        console.print(f"queued {total} deliveries again")


@keys.command("list")
def list_keys(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """The signing keys by when they sign: a key published but not signing yet last."""
    with _api(ctx) as api:
        page = api.request("GET", "/admin/keys")
    if as_json:
        print_json(page)
        return
    print_table(
        None,
        ("Kid", "Algorithm", "Active", "Published", "Signs from", "Retired"),
        (
            (k["Kid"], k["Algorithm"], k["Active"], k["CreatedAt"], k["SignsFrom"], k["RetiredAt"])
            for k in page["Keys"]
        ),
    )


@keys.command("rotate")
def rotate(
    ctx: typer.Context,
    now: Annotated[
        bool,
        typer.Option(
            "--now",
            help="Sign with the new key at once, skipping the publish delay: for a "
            "compromised key. Receivers with a cached JWKS may refuse tokens until they "
            "refetch it.",
        ),
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """Publish a new signing key; it signs once the publish delay has passed.

    The old key signs until then and stays published until its last token expires.
    """
    with _api(ctx) as api:
        page = api.request("POST", "/admin/keys/rotate", json={"Immediately": now})
    if as_json:
        print_json(page)
        return
    active = next(k for k in page["Keys"] if k["Active"])
    newest = page["Keys"][-1]
    if newest["Kid"] == active["Kid"]:
        console.print(f"now signing with {active['Kid']} ({active['Algorithm']})")
    else:
        console.print(
            f"published {newest['Kid']} ({newest['Algorithm']}); it signs from "
            f"{newest['SignsFrom']}, {active['Kid']} signs until then"
        )
