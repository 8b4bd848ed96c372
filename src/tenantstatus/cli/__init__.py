"""The `tenantstatus` command.

tenantstatus serve                      # the service, on SQLite under ./data
tenantstatus tenant add Cust1 --endpoint https://sod1.example.com/Cust1
tenantstatus tenant op Cust1 upgrade --version-name "R11" --file-version 11.0.1
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from tenantstatus.cli import dispatch, migrate, operator_token, push, serve, tenant, vendor
from tenantstatus.cli.operator_api import CommandError
from tenantstatus.config import DEFAULT_PORT
from tenantstatus.sandbox.command import sandbox

__all__ = ["app", "main"]

app = typer.Typer(
    name="tenantstatus",
    help="Tenant lifecycle state: the service, its operator tools and the vendor SDK.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(tenant.app, name="tenant")
app.add_typer(push.apps, name="app")
app.add_typer(push.deliveries, name="deliveries")
app.add_typer(push.keys, name="keys")
app.command("serve")(serve.serve)
app.command("migrate")(migrate.migrate)
app.command("dispatch", hidden=True)(dispatch.dispatch)
app.command("sandbox")(sandbox)
app.add_typer(operator_token.app, name="operator-token")
vendor.register(app)


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
) -> None:
    ctx.obj = {"url": url, "token": token}


def main() -> None:
    """Run the CLI; a failed command prints one line and exits nonzero.

    Usage errors are typer's own (usage and the error, exit code 2).
    """
    try:
        app()
    except CommandError as exc:
        typer.echo(f"error: {exc}", err=True)
        sys.exit(1)
