"""`tenantstatus migrate`: bring the database schema up to date without serving."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer

from tenantstatus.cli.operator_api import CommandError
from tenantstatus.config import ConfigError, Settings

__all__ = ["migrate"]


def migrate(
    data_dir: Annotated[
        Path | None,
        typer.Option("--data-dir", help="Where SQLite lives. [env TENANTSTATUS_DATA_DIR]"),
    ] = None,
    database_url: Annotated[
        str | None,
        typer.Option("--database-url", help="A database URL. [env TENANTSTATUS_DATABASE_URL]"),
    ] = None,
) -> None:
    """Apply every pending migration, then exit (for deployments that migrate first)."""
    from tenantstatus.store import SqlStore, StoreUnavailable

    try:
        settings = Settings.from_env(data_dir=data_dir, database_url=database_url)
    except ConfigError as exc:
        raise CommandError(str(exc)) from None
    settings.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    store = SqlStore(settings.resolved_database_url)

    async def run() -> None:
        try:
            await store.open()
        finally:
            await store.close()

    try:
        asyncio.run(run())
    except StoreUnavailable as exc:
        raise CommandError(str(exc)) from None
    typer.echo(f"schema is up to date ({store.dialect})")
