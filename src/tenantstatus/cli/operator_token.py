"""`tenantstatus operator-token reset`: replace a lost operator token, on the database.

It works on the database directly, so it needs no token: run it where the service's
data directory (or database URL) is, with the service stopped or running. A running
service picks up the new token within seconds.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Annotated

import typer

from tenantstatus.config import ConfigError, Settings

__all__ = ["app"]

app = typer.Typer(
    help="The operator token: replace it when it is lost.",
    no_args_is_help=True,
)


def _fail(message: str, code: int) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


@app.command("reset")
def reset(
    data_dir: Annotated[
        Path | None,
        typer.Option(
            "--data-dir", help="The service's data directory. [env TENANTSTATUS_DATA_DIR]"
        ),
    ] = None,
    database_url: Annotated[
        str | None,
        typer.Option(
            "--database-url", help="The service's database URL. [env TENANTSTATUS_DATABASE_URL]"
        ),
    ] = None,
) -> None:
    """Store a new operator token's hash and print the token, once; the old one stops working."""
    from tenantstatus.service.auth import OPERATOR_TOKEN_KEY, hash_token, new_token
    from tenantstatus.store import SqlStore, StoreUnavailable

    try:
        settings = Settings.from_env(data_dir=data_dir, database_url=database_url)
    except ConfigError as exc:
        raise _fail(str(exc), 2) from None
    url = settings.resolved_database_url
    if url.startswith("sqlite"):
        database = Path(url.split(":///", 1)[1])
        if not database.exists():
            # Opening would create an empty database, and the token would go nowhere.
            raise _fail(
                f"no database at {database}; pass the service's --data-dir or --database-url", 2
            )
    store = SqlStore(url)
    token = new_token()

    async def run() -> None:
        try:
            await store.open()
            await store.put_setting(OPERATOR_TOKEN_KEY, hash_token(token))
        finally:
            await store.close()

    try:
        asyncio.run(run())
    except StoreUnavailable as exc:
        raise _fail(f"{exc}; check --data-dir or --database-url", 3) from None
    typer.echo(token)
    typer.echo(
        "tenantstatus: the operator token above is shown once and stored only as a hash; "
        "the old one no longer works",
        err=True,
    )
    if os.environ.get("TENANTSTATUS_OPERATOR_TOKEN"):
        typer.echo(
            "tenantstatus: note: a service started with TENANTSTATUS_OPERATOR_TOKEN uses that "
            "token and ignores the stored one",
            err=True,
        )
