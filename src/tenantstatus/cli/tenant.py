"""`tenantstatus tenant ...`: drive tenant lifecycles through the operator API."""

from __future__ import annotations

import json
import signal
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

from tenantstatus.cli.failures import INTERRUPTED
from tenantstatus.cli.notice import print_notices
from tenantstatus.cli.operation_list import complete_operation, operation_lines
from tenantstatus.cli.operator_api import USAGE, CommandError, OperatorApi
from tenantstatus.cli.output import console, print_json, print_table, show
from tenantstatus.model import parse_instant

__all__ = ["app"]

app = typer.Typer(help="Register tenants and drive their lifecycles.", no_args_is_help=True)
schedule_app = typer.Typer(help="Scheduled operations.", no_args_is_help=True)
app.add_typer(schedule_app, name="schedule")

JsonFlag = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]
EndpointOpt = Annotated[str | None, typer.Option("--endpoint", help="The tenant's root URL.")]
VersionNameOpt = Annotated[str | None, typer.Option("--version-name", help="The VersionName.")]
FileVersionOpt = Annotated[str | None, typer.Option("--file-version", help="The FileVersion.")]
AtOpt = Annotated[
    str | None, typer.Option("--at", help="Run at this ISO-8601 instant instead of now.")
]
MessageOpt = Annotated[
    str | None,
    typer.Option("--message", help="A message for the tenant's page (plain text; links allowed)."),
]
UntilOpt = Annotated[
    str | None,
    typer.Option("--until", help="When it is expected to end: an ISO-8601 instant."),
]

_TENANT_FIELDS = (
    "ContextIdentifier",
    "State",
    "IsRunning",
    "Endpoint",
    "Version",
    "VersionName",
    "FileVersion",
    "StateSince",
    "Activity",
)
_IMPORT_BATCH = 5_000


def _api(ctx: typer.Context) -> OperatorApi:
    settings: dict[str, Any] = ctx.obj
    return OperatorApi(settings["url"], settings["token"])


def _instant(text: str | None, flag: str = "--at") -> str | None:
    if text is None:
        return None
    try:
        instant = parse_instant(text)
    except ValueError:
        raise CommandError(
            f"{flag} {text!r} is not an ISO-8601 instant with a zone, e.g. 2026-12-01T02:00:00Z",
            USAGE,
        ) from None
    return instant.isoformat()


def _body(**values: Any) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}


def _print_result(result: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print_json(result)
    elif "Tenant" in result:
        tenant = result["Tenant"]
        history = result["History"]
        if history["FromState"] is None:  # provision: the tenant did not exist before
            console.print(
                f"{tenant['ContextIdentifier']}: provisioned in state {history['ToState']}"
            )
            return
        announced = f", announces {history['ChangeType']}" if history["ChangeType"] else ""
        console.print(
            f"{tenant['ContextIdentifier']}: {history['Operation']} "
            f"{history['FromState']} -> {history['ToState']}{announced}"
        )
    else:
        console.print(
            f"scheduled #{result['Id']}: {result['Operation']} on "
            f"{result['ContextIdentifier']} at {result['At']}"
        )


@app.command("add")
def add(
    ctx: typer.Context,
    context_identifier: Annotated[str, typer.Argument(help="The tenant id, e.g. Cust12345.")],
    endpoint: Annotated[str, typer.Option("--endpoint", help="The tenant's root URL.")],
    state: Annotated[str | None, typer.Option("--state", help="Start in this state.")] = None,
    version_name: VersionNameOpt = None,
    file_version: FileVersionOpt = None,
    at: AtOpt = None,
    as_json: JsonFlag = False,
) -> None:
    """Provision a tenant (state Provisioning unless --state says otherwise)."""
    body = _body(
        ContextIdentifier=context_identifier,
        Endpoint=endpoint,
        State=state,
        VersionName=version_name,
        FileVersion=file_version,
        At=_instant(at),
    )
    with _api(ctx) as api:
        _print_result(api.request("POST", "/admin/tenants", json=body), as_json)


@app.command("list")
def list_tenants(
    ctx: typer.Context,
    state: Annotated[str | None, typer.Option("--state", help="Only this state.")] = None,
    after: Annotated[str | None, typer.Option("--after", help="Start after this id.")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=1000)] = 100,
    as_json: JsonFlag = False,
) -> None:
    """List tenants, ordered by id."""
    with _api(ctx) as api:
        page = api.request(
            "GET", "/admin/tenants", params={"state": state, "after": after, "limit": limit}
        )
    if as_json:
        print_json(page)
        return
    print_table(
        None,
        ("ContextIdentifier", "State", "Running", "Endpoint", "Version"),
        (
            (
                t["ContextIdentifier"],
                t["State"],
                "yes" if t["IsRunning"] else "no",
                t["Endpoint"],
                t["Version"] or t["VersionName"],
            )
            for t in page["Tenants"]
        ),
    )
    if page["Next"]:
        console.print(f"more: --after {page['Next']}")


@app.command("show")
def show_tenant(
    ctx: typer.Context,
    context_identifier: Annotated[str, typer.Argument(help="The tenant id.")],
    as_json: JsonFlag = False,
) -> None:
    """Show a tenant, its recent history and its scheduled operations."""
    with _api(ctx) as api:
        detail = api.request("GET", f"/admin/tenants/{context_identifier}")
    if as_json:
        print_json(detail)
        return
    show(detail["Tenant"], False, _TENANT_FIELDS)
    console.print("allowed now: " + ", ".join(detail["Tenant"]["AllowedOperations"]))
    print_table(
        "history",
        ("at", "operation", "from", "to", "announces", "by"),
        (
            (h["At"], h["Operation"], h["FromState"], h["ToState"], h["ChangeType"], h["Actor"])
            for h in detail["History"]
        ),
    )
    if detail["Scheduled"]:
        _print_schedule(detail["Scheduled"])
    if detail["Notices"]:
        print_notices("notices", detail["Notices"])


_OP_HELP = "\n\n".join(
    [
        "Run a lifecycle operation now, or schedule it with --at.",
        "\b\nOperations (the states each runs from -> to, what it announces):\n"
        + "\n".join(f"  {line}" for line in operation_lines()),
    ]
)


@app.command("op", help=_OP_HELP)
def run_operation(
    ctx: typer.Context,
    context_identifier: Annotated[str, typer.Argument(metavar="CTX", help="The tenant id.")],
    operation: Annotated[
        str,
        typer.Argument(
            metavar="OPERATION",
            help="One of the operations listed above.",
            autocompletion=complete_operation,
        ),
    ],
    endpoint: EndpointOpt = None,
    version_name: VersionNameOpt = None,
    file_version: FileVersionOpt = None,
    version_document: Annotated[
        Path | None,
        typer.Option("--version-document", help="A JSON file with the version document."),
    ] = None,
    at: AtOpt = None,
    message: MessageOpt = None,
    until: UntilOpt = None,
    as_json: JsonFlag = False,
) -> None:
    if until is not None and message is None:
        raise CommandError("--until is the expected end of a --message; give one", USAGE)
    document = None
    if version_document is not None:
        try:
            document = json.loads(version_document.read_text())
        except (OSError, ValueError) as exc:
            raise CommandError(f"cannot read {version_document}: {exc}", USAGE) from None
    body = _body(
        Operation=operation,
        Endpoint=endpoint,
        VersionName=version_name,
        FileVersion=file_version,
        VersionDocument=document,
        At=_instant(at),
        Message=message,
        Until=_instant(until, "--until"),
    )
    with _api(ctx) as api:
        result = api.request("POST", f"/admin/tenants/{context_identifier}/operations", json=body)
    _print_result(result, as_json)


@app.command("note")
def note(
    ctx: typer.Context,
    context_identifier: Annotated[str, typer.Argument(metavar="CTX", help="The tenant id.")],
    text: Annotated[str, typer.Argument(metavar="TEXT", help="The update, as plain text.")],
    until: UntilOpt = None,
    as_json: JsonFlag = False,
) -> None:
    """Post an update on the tenant's current message (the operation under way)."""
    body = _body(Body=text, Until=_instant(until, "--until"))
    with _api(ctx) as api:
        notice = api.request("POST", f"/admin/tenants/{context_identifier}/notes", json=body)
    if as_json:
        print_json(notice)
    else:
        console.print(
            f"notice #{notice['Id']} on {context_identifier}: "
            f"{len(notice['Updates'])} update(s), until {notice['Until'] or '-'}"
        )


def _print_schedule(scheduled: list[dict[str, Any]]) -> None:
    print_table(
        "scheduled",
        ("id", "at", "tenant", "operation", "status", "error"),
        (
            (s["Id"], s["At"], s["ContextIdentifier"], s["Operation"], s["Status"], s["Error"])
            for s in scheduled
        ),
    )


@schedule_app.command("list")
def schedule_list(
    ctx: typer.Context,
    context_identifier: Annotated[
        str | None, typer.Option("--tenant", help="Only this tenant.")
    ] = None,
    status: Annotated[
        str, typer.Option("--status", help="pending, done, failed or cancelled.")
    ] = "pending",
    as_json: JsonFlag = False,
) -> None:
    """List scheduled operations, soonest first."""
    with _api(ctx) as api:
        page = api.request(
            "GET",
            "/admin/schedule",
            params={"context_identifier": context_identifier, "status": status},
        )
    if as_json:
        print_json(page)
    else:
        _print_schedule(page["Scheduled"])


@schedule_app.command("cancel")
def schedule_cancel(
    ctx: typer.Context,
    scheduled_id: Annotated[int, typer.Argument(help="The scheduled operation's id.")],
    as_json: JsonFlag = False,
) -> None:
    """Cancel a pending scheduled operation."""
    with _api(ctx) as api:
        cancelled = api.request("DELETE", f"/admin/schedule/{scheduled_id}")
    if as_json:
        print_json(cancelled)
    else:
        console.print(
            f"cancelled #{cancelled['Id']}: {cancelled['Operation']} "
            f"on {cancelled['ContextIdentifier']}"
        )


def _read_import(path: Path) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    try:
        with path.open("rb") as lines:
            for number, raw in enumerate(lines, start=1):
                line = _decode(path, number, raw)
                if not line.strip():
                    continue
                try:
                    item = json.loads(line)
                except ValueError as exc:
                    raise CommandError(f"{path}:{number}: not JSON: {exc}", USAGE) from None
                if not isinstance(item, dict):
                    raise CommandError(f"{path}:{number}: expected a JSON object", USAGE)
                items.append(item)
    except OSError as exc:
        raise CommandError(f"cannot read {path}: {exc.strerror}", USAGE) from None
    return items


def _decode(path: Path, number: int, raw: bytes) -> str:
    try:
        # A byte order mark is tolerated on the first line, as editors on Windows write one.
        return raw.decode("utf-8-sig" if number == 1 else "utf-8")
    except UnicodeDecodeError as exc:
        raise CommandError(
            f"{path}:{number}: not UTF-8 text (byte {exc.start + 1} of the line); "
            "save the file as UTF-8",
            USAGE,
        ) from None


class _StopAfterBatch:
    """SIGINT during an import: the first stops it after the batch in flight, a second at once.

    Finishing the batch lets the import say exactly how many tenants it created.
    """

    def __init__(self, progress: Progress) -> None:
        self.requested = False
        self._progress = progress

    def __call__(self, signum: int, frame: object) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True
        for task in self._progress.task_ids:
            self._progress.update(task, description="stopping after this batch (Ctrl-C: now)")


@app.command("import")
def import_tenants(
    ctx: typer.Context,
    path: Annotated[
        Path, typer.Argument(metavar="FILE", help="A JSON Lines file, one tenant a line.")
    ],
    as_json: JsonFlag = False,
) -> None:
    """Create many tenants from a JSON Lines file (UTF-8); existing ones are skipped.

    Each line: {"ContextIdentifier": "Cust1", "Endpoint": "https://...", "State": "Running"},
    and optionally "VersionName", "FileVersion" and "VersionDocument". Ctrl-C stops after
    the batch in flight and says how many tenants were created.
    """
    items = _read_import(path)
    created = skipped = sent = 0

    def interrupted(note: str = "") -> CommandError:
        return CommandError(
            f"interrupted: created {created} tenants and skipped {skipped} that exist, of the "
            f"first {sent} of {len(items)} in {path}{note}; run the same import again to add "
            "the rest (it skips the tenants that exist)",
            INTERRUPTED,
            {"Created": created, "Skipped": skipped, "Read": len(items), "Sent": sent},
        )

    with (
        _api(ctx) as api,
        Progress(
            "[progress.description]{task.description}",
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=console,
            disable=as_json,
            transient=False,
        ) as progress,
    ):
        task = progress.add_task("importing", total=len(items))
        stop = _StopAfterBatch(progress)
        previous = signal.signal(signal.SIGINT, stop)
        in_flight = ""
        try:
            for start in range(0, len(items), _IMPORT_BATCH):
                if stop.requested:
                    break
                batch = items[start : start + _IMPORT_BATCH]
                in_flight = f"{start + 1}-{start + len(batch)}"
                try:
                    result = api.request("POST", "/admin/tenants/import", json={"Tenants": batch})
                except CommandError as exc:
                    raise CommandError(
                        f"{exc} (tenants {in_flight} of the file; {created} created before)",
                        exc.exit_code,
                    ) from None
                created += result["Created"]
                skipped += result["Skipped"]
                sent, in_flight = start + len(batch), ""
                progress.advance(task, len(batch))
        except KeyboardInterrupt:
            note = f" (tenants {in_flight} were in flight: some may exist now)" if in_flight else ""
            raise interrupted(note) from None
        finally:
            signal.signal(signal.SIGINT, previous)
    if sent < len(items):
        raise interrupted()
    summary = {"Created": created, "Skipped": skipped, "Read": len(items)}
    if as_json:
        print_json(summary)
    else:
        console.print(f"imported {created} tenants, skipped {skipped} that exist")
