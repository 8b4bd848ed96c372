"""The `tenantstatus` command.

tenantstatus serve                      # the service, on SQLite under ./data
tenantstatus tenant add Cust1 --endpoint https://sod1.example.com/Cust1
tenantstatus tenant op Cust1 upgrade --version-name "R11" --file-version 11.0.1
"""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer
from typer._click.exceptions import NoArgsIsHelpError, UsageError

from tenantstatus.__about__ import __version__
from tenantstatus.cli import (
    app_test,
    catch_up,
    dispatch,
    migrate,
    notice,
    operator_token,
    portal_link,
    push,
    rollout,
    serve,
    tenant,
    vendor,
)
from tenantstatus.cli.failures import BUG, INTERRUPTED, report, usage_message, wants_json
from tenantstatus.cli.help_format import plain_arguments
from tenantstatus.cli.operator_api import USAGE, CommandError
from tenantstatus.config import DEFAULT_PORT
from tenantstatus.sandbox.command import sandbox

__all__ = ["app", "main"]

app = typer.Typer(
    name="tenantstatus",
    help="Tenant lifecycle state: the service, its operator tools and the vendor SDK.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=True,
    # click's plain help: flags show no `<bool>`, as in the tools people know.
    rich_markup_mode=None,
)
app.add_typer(tenant.app, name="tenant")
app.add_typer(notice.app, name="notice")
app.add_typer(rollout.app, name="rollout")
app.add_typer(push.apps, name="app")
push.apps.command("test")(app_test.test)
push.apps.command("portal-link")(portal_link.portal_link)
push.deliveries.command("catch-up")(catch_up.catch_up)
app.add_typer(push.deliveries, name="deliveries")
app.add_typer(push.keys, name="keys")
app.command("serve")(serve.serve)
app.command("migrate")(migrate.migrate)
app.command("dispatch", hidden=True)(dispatch.dispatch)
app.command("sandbox")(sandbox)
app.add_typer(operator_token.app, name="operator-token")
vendor.register(app)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"tenantstatus {__version__}")
        raise typer.Exit()


@app.callback()
def _global(
    ctx: typer.Context,
    url: Annotated[
        str,
        typer.Option("--url", envvar="TENANTSTATUS_URL", help="The service's URL."),
    ] = f"http://127.0.0.1:{DEFAULT_PORT}",
    token: Annotated[
        str | None,
        typer.Option("--token", envvar="TENANTSTATUS_TOKEN", help="The operator token."),
    ] = None,
    version: Annotated[
        bool,
        typer.Option(
            "--version", is_eager=True, callback=_print_version, help="Print the version."
        ),
    ] = False,
) -> None:
    ctx.obj = {"url": url, "token": token}


def main() -> None:
    """Run the CLI; a failed command prints one line on stderr and exits with its code.

    Exit codes: 0 done, 1 a negative answer, 2 a usage error, 3 cannot reach the service
    or the database, 130 interrupted, 70 a bug. With `--json` the line is a JSON object,
    `{"error": "...", "exit_code": N}`. `TENANTSTATUS_DEBUG=1` shows a bug's traceback.
    """
    args = sys.argv[1:]
    as_json = wants_json(args)
    command = typer.main.get_command(app)
    plain_arguments(command)
    try:
        code = command.main(args=args, prog_name="tenantstatus", standalone_mode=False)
    except CommandError as exc:
        report(exc.message, exc.exit_code, as_json=as_json, details=exc.details)
        sys.exit(exc.exit_code)
    except NoArgsIsHelpError as exc:
        exc.show()
        sys.exit(USAGE)
    except UsageError as exc:
        report(usage_message(exc), USAGE, as_json=as_json)
        sys.exit(USAGE)
    except (KeyboardInterrupt, typer.Abort):
        report("interrupted", INTERRUPTED, as_json=as_json)
        sys.exit(INTERRUPTED)
    except Exception as exc:
        if os.environ.get("TENANTSTATUS_DEBUG") == "1":
            raise
        report(
            f"unexpected {type(exc).__name__}: {exc}; this is a bug in tenantstatus: please "
            "report it with the command you ran (TENANTSTATUS_DEBUG=1 shows the traceback)",
            BUG,
            as_json=as_json,
        )
        sys.exit(BUG)
    if code == INTERRUPTED:  # typer turns a KeyboardInterrupt in a command into this code
        report("interrupted", INTERRUPTED, as_json=as_json)
    sys.exit(code or 0)
