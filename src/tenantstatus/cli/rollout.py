"""`tenantstatus rollout ...`: one operation over many tenants, in waves, with a cap."""

from __future__ import annotations

import json
import re
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

from tenantstatus.cli.failures import INTERRUPTED
from tenantstatus.cli.operator_api import USAGE, CommandError, OperatorApi
from tenantstatus.cli.output import console, print_json, print_table
from tenantstatus.model import is_valid_context_identifier, parse_instant

__all__ = ["app", "parse_duration"]

app = typer.Typer(
    help="Rollouts: one operation over a frozen selection of tenants, in waves.",
    no_args_is_help=True,
)

JsonFlag = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]
RolloutIdArg = Annotated[int, typer.Argument(metavar="ID", help="The rollout's id.", min=1)]

_SPAN = re.compile(r"^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s?)?$")
_FINISHED = ("done", "aborted")


def _api(ctx: typer.Context) -> OperatorApi:
    settings: dict[str, Any] = ctx.obj
    return OperatorApi(settings["url"], settings["token"])


def parse_duration(text: str, option: str = "--expected-duration") -> timedelta:
    """`90`, `90s`, `15m`, `2h`, `1h30m` as a duration; `CommandError` otherwise."""
    match = _SPAN.match(text.strip())
    if not text.strip() or match is None or not any(match.groups()):
        raise CommandError(f"{option} {text!r} is not a duration such as 900, 15m or 1h30m", USAGE)
    hours, minutes, seconds = (int(g or 0) for g in match.groups())
    return timedelta(hours=hours, minutes=minutes, seconds=seconds)


def _instant(text: str | None, option: str) -> str | None:
    """An ISO-8601 instant, or `+DURATION` from now."""
    if text is None:
        return None
    if text.startswith("+"):
        return (datetime.now(UTC) + parse_duration(text[1:], option)).isoformat()
    try:
        return parse_instant(text).isoformat()
    except ValueError:
        raise CommandError(
            f"{option} {text!r} is not an ISO-8601 instant with a zone "
            "(2026-12-03T01:00:00Z) or +DURATION from now (+4h)",
            USAGE,
        ) from None


def _read_ids(path: Path) -> list[str]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise CommandError(f"cannot read {path}: {exc}", USAGE) from None
    ids = [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    for number, ctx in enumerate(ids, 1):
        if not is_valid_context_identifier(ctx):
            raise CommandError(
                f"{path}: {ctx[:80]!r} (entry {number}) is not a ContextIdentifier; "
                "give one per line",
                USAGE,
            )
    return ids


def _progress_line(rollout: dict[str, Any]) -> str:
    p = rollout["Progress"]
    return (
        f"{p['Planned']} planned, {p['InProgress']} in progress, {p['Done']} done, "
        f"{p['Late']} late, {p['Refused']} refused"
        + (f", {p['Cancelled']} cancelled" if p["Cancelled"] else "")
    )


def _summary(rollout: dict[str, Any]) -> str:
    reason = f" ({rollout['Reason']})" if rollout.get("Reason") else ""
    return (
        f"rollout #{rollout['Id']}: {rollout['Operation']} over {rollout['TenantCount']} "
        f"tenants, {rollout['Status']}{reason}; {_progress_line(rollout)}"
    )


@app.command("create")
def create(
    ctx: typer.Context,
    operation: Annotated[
        str, typer.Argument(metavar="OPERATION", help="The operation, e.g. upgrade.")
    ],
    host: Annotated[
        str | None, typer.Option("--host", help="Tenants whose Endpoint is on this host.")
    ] = None,
    state: Annotated[str | None, typer.Option("--state", help="Tenants in this state.")] = None,
    version: Annotated[
        str | None,
        typer.Option("--version", help="A glob (* and ?) on VersionName or FileVersion."),
    ] = None,
    from_file: Annotated[
        Path | None,
        typer.Option("--from-file", help="A file of ContextIdentifiers, one a line."),
    ] = None,
    version_name: Annotated[
        str | None, typer.Option("--version-name", help="The new VersionName (upgrade).")
    ] = None,
    file_version: Annotated[
        str | None, typer.Option("--file-version", help="The new FileVersion (upgrade).")
    ] = None,
    version_document: Annotated[
        Path | None,
        typer.Option("--version-document", help="A JSON file with the version document."),
    ] = None,
    endpoint: Annotated[
        str | None, typer.Option("--endpoint", help="The new Endpoint (move).")
    ] = None,
    message: Annotated[
        str | None,
        typer.Option("--message", help="A message for each tenant's page (plain text)."),
    ] = None,
    start: Annotated[
        str | None,
        typer.Option("--start", help="When the first wave starts: ISO-8601 or +DURATION."),
    ] = None,
    window_end: Annotated[
        str, typer.Option("--window-end", help="When the last wave must end: ISO or +DURATION.")
    ] = "+8h",
    batch_size: Annotated[int, typer.Option("--batch-size", min=1, help="Tenants per wave.")] = 100,
    max_in_progress: Annotated[
        int | None,
        typer.Option("--max-in-progress", min=1, help="Cap on tenants in progress at once."),
    ] = None,
    expected_duration: Annotated[
        str, typer.Option("--expected-duration", help="Per tenant: 900, 15m, 1h30m.")
    ] = "15m",
    max_failures: Annotated[
        int | None,
        typer.Option("--max-failures", min=0, help="Pause past this many late or refused."),
    ] = None,
    max_failure_percent: Annotated[
        float | None,
        typer.Option(
            "--max-failure-percent", min=0, max=100, help="Pause past this % late or refused."
        ),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Plan a rollout over the tenants selected now; print its waves."""
    document = None
    if version_document is not None:
        try:
            document = json.loads(version_document.read_text())
        except (OSError, ValueError) as exc:
            raise CommandError(f"cannot read {version_document}: {exc}", USAGE) from None
    select: dict[str, Any] = {"Host": host, "State": state, "Version": version}
    if from_file is not None:
        select["ContextIdentifiers"] = _read_ids(from_file)
    body: dict[str, Any] = {
        "Operation": operation,
        "Endpoint": endpoint,
        "VersionName": version_name,
        "FileVersion": file_version,
        "VersionDocument": document,
        "Message": message,
        "Select": {k: v for k, v in select.items() if v is not None},
        "Start": _instant(start, "--start"),
        "WindowEnd": _instant(window_end, "--window-end"),
        "BatchSize": batch_size,
        "MaxInProgress": max_in_progress or batch_size,
        "ExpectedDuration": int(parse_duration(expected_duration).total_seconds()),
        "MaxFailures": max_failures,
        "MaxFailurePercent": max_failure_percent,
    }
    with _api(ctx) as api:
        rollout = api.request(
            "POST", "/admin/rollouts", json={k: v for k, v in body.items() if v is not None}
        )
    if as_json:
        print_json(rollout)
        return
    waves = rollout["Waves"]
    console.print(
        f"rollout #{rollout['Id']}: {rollout['Operation']} over {rollout['TenantCount']} "
        f"tenants in {rollout['WaveCount']} waves of {rollout['BatchSize']}, at most "
        f"{rollout['MaxInProgress']} in progress"
        + (f", first at {waves[0]}, last at {waves[-1]}" if waves else ""),
        markup=False,
    )


@app.command("list")
def list_rollouts(
    ctx: typer.Context,
    unfinished: Annotated[
        bool, typer.Option("--unfinished", help="Only rollouts not done or aborted.")
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """Rollouts newest first, with their progress."""
    with _api(ctx) as api:
        page = api.request("GET", "/admin/rollouts", params={"unfinished": unfinished or None})
    if as_json:
        print_json(page)
        return
    print_table(
        None,
        (
            "id",
            "operation",
            "status",
            "tenants",
            "planned",
            "in progress",
            "done",
            "late",
            "refused",
            "start",
        ),
        (
            (
                r["Id"],
                r["Operation"],
                r["Status"],
                r["TenantCount"],
                r["Progress"]["Planned"],
                r["Progress"]["InProgress"],
                r["Progress"]["Done"],
                r["Progress"]["Late"],
                r["Progress"]["Refused"],
                r["Start"],
            )
            for r in page["Rollouts"]
        ),
    )


@app.command("show")
def show(
    ctx: typer.Context,
    rollout_id: RolloutIdArg,
    watch: Annotated[
        bool,
        typer.Option("--watch", help="Follow its progress with a live bar until it ends."),
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """A rollout's progress, its late and refused tenants and its history."""
    with _api(ctx) as api:
        rollout = api.request("GET", f"/admin/rollouts/{rollout_id}")
        if watch and not as_json and sys.stdout.isatty():
            rollout = _watch(api, rollout)
    if as_json:
        print_json(rollout)
        return
    console.print(_summary(rollout), markup=False)
    if rollout["Attention"]:
        print_table(
            "late or refused",
            ("tenant", "wave", "phase", "started", "error"),
            (
                (m["ContextIdentifier"], m["Wave"], m["Phase"], m["StartedAt"], m["Error"])
                for m in rollout["Attention"]
            ),
        )
    print_table(
        "history",
        ("at", "action", "actor", "detail"),
        ((e["At"], e["Action"], e["Actor"], e["Detail"]) for e in rollout["History"]),
    )


def _watch(api: OperatorApi, rollout: dict[str, Any]) -> dict[str, Any]:
    """A live bar of finished tenants (done, refused, cancelled) until the rollout ends."""

    def finished(r: dict[str, Any]) -> int:
        p = r["Progress"]
        return int(p["Done"] + p["Refused"] + p["Cancelled"])

    try:
        with Progress(
            "[progress.description]{task.description}",
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
        ) as progress:
            task = progress.add_task("", total=rollout["TenantCount"])
            while True:
                progress.update(
                    task, completed=finished(rollout), description=_progress_line(rollout)
                )
                if rollout["Status"] in _FINISHED:
                    return rollout
                time.sleep(1)
                rollout = api.request("GET", f"/admin/rollouts/{rollout['Id']}")
    except KeyboardInterrupt:
        raise CommandError(
            f"stopped watching rollout #{rollout['Id']}; it goes on "
            f"(tenantstatus rollout show {rollout['Id']})",
            INTERRUPTED,
        ) from None


def _control(action: str, verb: str) -> None:
    def control(ctx: typer.Context, rollout_id: RolloutIdArg, as_json: JsonFlag = False) -> None:
        with _api(ctx) as api:
            rollout = api.request("POST", f"/admin/rollouts/{rollout_id}/{action}")
        if as_json:
            print_json(rollout)
            return
        console.print(_summary(rollout), markup=False)

    control.__doc__ = verb
    app.command(action)(control)


_control("pause", "Release no more waves until resumed.")
_control("resume", "Release waves again (failures so far no longer count).")
_control("abort", "Cancel every tenant not started; the ones in progress finish.")
