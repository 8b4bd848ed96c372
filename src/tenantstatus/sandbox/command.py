"""`tenantstatus sandbox`: the service plus simulated tenants, for testing an integration.

tenantstatus sandbox                                     # three tenants, on port 8080
tenantstatus sandbox --port 8090 --scenario examples/sandbox-scenario.json \\
    --notify http://127.0.0.1:9000/notify                # push to your receiver
tenantstatus sandbox --upgrade-duration 30s --upgrade-late 0.05 --upgrade-fail 0.02 \\
    --upgrade-seed 7                                     # finish upgrades, as the platform

Needs the server extra. Imports nothing of it until the command runs, so the vendor
commands keep working on a client-only install.
"""

from __future__ import annotations

import json
import logging
import shutil
import signal
import sys
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

from tenantstatus.config import DEFAULT_HOST, DEFAULT_PORT, ConfigError
from tenantstatus.sandbox.scenario import Scenario, ScenarioError, numbered_tenants
from tenantstatus.sandbox.tooling_script import ToolingScript

if TYPE_CHECKING:
    from tenantstatus.sandbox.app import SandboxInfo
    from tenantstatus.sandbox.player import PlayedOperation

__all__ = ["sandbox"]

USAGE = 2  # the exit code of a usage error, as click's own
_TOOLING = "The platform's tooling (finishes upgrades and restores)"


def sandbox(
    port: Annotated[int, typer.Option("--port", help="Port to listen on.")] = DEFAULT_PORT,
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = DEFAULT_HOST,
    scenario_file: Annotated[
        Path | None,
        typer.Option(
            "--scenario",
            metavar="FILE",
            help="A scenario (JSON): tenants, and operations at offsets. See docs/sandbox.md.",
            exists=True,
            dir_okay=False,
        ),
    ] = None,
    tenant_count: Annotated[
        int | None,
        typer.Option(
            "--tenants",
            metavar="N",
            min=1,
            max=100_000,
            help="Create N running tenants, Cust10001 up, on sod2 and sod3 in turn, instead "
            "of the scenario's (its steps must name some of them).",
        ),
    ] = None,
    notify: Annotated[
        list[str] | None,
        typer.Option(
            "--notify",
            metavar="URL",
            help="Register an application with this State Change URL, approved by every "
            "tenant (repeatable).",
        ),
    ] = None,
    data_dir: Annotated[
        Path | None,
        typer.Option("--data-dir", help="Keep the data here (default: a temporary directory)."),
    ] = None,
    public_url: Annotated[
        str | None,
        typer.Option("--public-url", help="The URL clients reach the sandbox at."),
    ] = None,
    notice: Annotated[
        float | None,
        typer.Option(
            "--notice",
            min=0,
            help="Seconds an installation keeps serving after announcing it goes down "
            "(overrides the scenario's Notice; default 2).",
        ),
    ] = None,
    state_ttl: Annotated[
        int | None,
        typer.Option("--state-ttl", min=1, help="Seconds a state answer may be cached."),
    ] = None,
    upgrade_duration: Annotated[
        str | None,
        typer.Option(
            "--upgrade-duration",
            metavar="DURATION",
            help="Play the platform's tooling: finish every upgrade and restore after this "
            "long on average ('30s', '2m'; default 10s with any --upgrade-* option).",
            rich_help_panel=_TOOLING,
        ),
    ] = None,
    upgrade_jitter: Annotated[
        float | None,
        typer.Option(
            "--upgrade-jitter",
            metavar="FRACTION",
            min=0,
            max=0.99,
            help="Each duration varies by up to this fraction either way (default 0.2).",
            rich_help_panel=_TOOLING,
        ),
    ] = None,
    upgrade_late: Annotated[
        float | None,
        typer.Option(
            "--upgrade-late",
            min=0,
            max=1,
            metavar="SHARE",
            help="Share of upgrades that run late, e.g. 0.05 (default 0).",
            rich_help_panel=_TOOLING,
        ),
    ] = None,
    upgrade_late_by: Annotated[
        str | None,
        typer.Option(
            "--upgrade-late-by",
            metavar="DURATION",
            help="A late upgrade finishes this long after the longest on-time one "
            "(default: never; finish it by hand with `tenant op CTX upgrade-done`).",
            rich_help_panel=_TOOLING,
        ),
    ] = None,
    upgrade_fail: Annotated[
        float | None,
        typer.Option(
            "--upgrade-fail",
            min=0,
            max=1,
            metavar="SHARE",
            help="Share of upgrades that fail and roll back with `resume` (default 0).",
            rich_help_panel=_TOOLING,
        ),
    ] = None,
    upgrade_seed: Annotated[
        int | None,
        typer.Option(
            "--upgrade-seed",
            metavar="N",
            help="Seed of the choice of late and failed upgrades and of the durations "
            "(default 0): the same seed picks the same tenants on every run.",
            rich_help_panel=_TOOLING,
        ),
    ] = None,
    upgrade_concurrency: Annotated[
        int | None,
        typer.Option(
            "--upgrade-concurrency",
            metavar="N",
            min=1,
            max=100_000,
            help="Upgrades the tooling works on at once; more wait (default 1000).",
            rich_help_panel=_TOOLING,
        ),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print JSON lines instead of text.")
    ] = False,
    log_level: Annotated[str, typer.Option("--log-level")] = "warning",
) -> None:
    """Run the service with simulated tenant installations, and play a scenario."""
    try:
        import uvicorn

        from tenantstatus.sandbox.app import create_sandbox, sandbox_settings
    except ImportError as exc:
        extra = "pip install 'tenantstatus[server]'"
        _fail(USAGE, f"the sandbox needs the server extra: {extra} ({exc})")
    # Imported here: tenantstatus.cli imports this module.
    from tenantstatus.cli.startup import StartupGuard, startup_failure

    scenario = _scenario(scenario_file)
    if notice is not None:
        scenario = replace(scenario, notice=notice)
    if tenant_count is not None:
        try:
            scenario = replace(scenario, tenants=numbered_tenants(tenant_count))
        except ScenarioError as exc:
            _fail(USAGE, f"--tenants {tenant_count}: {exc}; name those tenants in the steps")
    tooling = {
        "Duration": upgrade_duration,
        "Jitter": upgrade_jitter,
        "Late": upgrade_late,
        "LateBy": upgrade_late_by,
        "Fail": upgrade_fail,
        "Seed": upgrade_seed,
        "Concurrency": upgrade_concurrency,
    }
    scenario = _with_tooling(scenario, {k: v for k, v in tooling.items() if v is not None})
    temporary = data_dir is None
    directory = data_dir or Path(tempfile.mkdtemp(prefix="tenantstatus-sandbox-"))
    try:
        settings = sandbox_settings(
            host=host, port=port, data_dir=directory, public_url=public_url, state_ttl=state_ttl
        )
    except ConfigError as exc:
        _fail(USAGE, str(exc))
    banner = Banner(as_json, temporary)
    app = create_sandbox(
        settings, scenario, notify=notify or (), on_ready=banner.ready, on_played=banner.played
    )
    logging.basicConfig(
        level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    # uvicorn re-raises SIGINT/SIGTERM once it has shut down; exit quietly on them instead
    # of dying at once, so the temporary data directory is removed.
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, _exit_on_signal)
    guard = StartupGuard(app)
    try:
        uvicorn.run(
            guard,
            host=settings.host,
            port=settings.port,
            log_level=log_level,
            access_log=False,
            server_header=False,
            lifespan="on",
        )
    except SystemExit:
        if guard.failure is None:
            raise
        raise startup_failure(guard.failure, "the sandbox") from None
    finally:
        if temporary:
            shutil.rmtree(directory, ignore_errors=True)


def _scenario(path: Path | None) -> Scenario:
    if path is None:
        return Scenario()
    try:
        return Scenario.from_json(path.read_bytes())
    except (OSError, ScenarioError) as exc:
        _fail(USAGE, f"--scenario {path}: {exc}")


def _with_tooling(scenario: Scenario, options: dict[str, object]) -> Scenario:
    """The scenario with the `--upgrade-*` options over its `Tooling` (any turns it on)."""
    if not options:
        return scenario
    base = scenario.tooling.to_json() if scenario.tooling is not None else {}
    merged = {k: v for k, v in {**base, **options}.items() if v is not None}
    try:
        return replace(scenario, tooling=ToolingScript.from_json(merged, "--upgrade-*"))
    except ScenarioError as exc:
        _fail(USAGE, f"{exc}; change the --upgrade-* options or the scenario's Tooling")


def _exit_on_signal(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


def _fail(code: int, message: str) -> NoReturn:
    from tenantstatus.cli.operator_api import CommandError

    raise CommandError(message, code)


class Banner:
    """Prints what the sandbox made, then each operation the scenario plays."""

    def __init__(self, as_json: bool, temporary: bool) -> None:
        self.as_json = as_json
        self.temporary = temporary

    def ready(self, info: SandboxInfo) -> None:
        """Print how to reach the sandbox, its tenants and the applications' credentials."""
        if self.as_json:
            _emit(json.dumps(info.to_json()))
            return
        removed = " (removed on exit)" if self.temporary else ""
        lines = [
            f"tenantstatus sandbox on {info.url}",
            "",
            f"  state API        {info.url}/api/state/{{ContextIdentifier}}",
            f"  operator token   {info.operator_token}",
            f"                   export TENANTSTATUS_URL={info.url} "
            f"TENANTSTATUS_TOKEN={info.operator_token}",
            f"  call statistics  {info.stats_url}",
            f"  data             {info.data_dir}{removed}",
            "",
            "tenants",
        ]
        lines += [
            f"  {t.context_identifier:<12} {t.state.name:<12} {t.endpoint}" for t in info.tenants
        ]
        for application in info.applications:
            lines += [
                "",
                f"application {application.id}, notified at {application.url}, "
                "approved by every tenant",
                f"  issuer           {info.url}",
                f"  audience (id)    {application.id}",
                f"  API token        {application.token}",
                f"  webhook secret   {application.secret}",
            ]
        lines += ["", f"scenario (installations go offline {info.notice:g}s after announcing)"]
        lines += [f"  {step}" for step in info.steps] or ["  no steps"]
        if info.tooling is not None:
            lines += ["", f"platform tooling: {info.tooling}"]
        _emit("\n".join([*lines, ""]))

    def played(self, played: PlayedOperation) -> None:
        """Print one operation the scenario ran (or that was refused)."""
        _emit(json.dumps(played.to_json()) if self.as_json else played.describe())


def _emit(text: str) -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()
