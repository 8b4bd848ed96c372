"""`tenantstatus migrate`: bring the database schema up to date without serving."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer

from tenantstatus.cli.operator_api import USAGE, CommandError
from tenantstatus.cli.startup import known_failure, missing_server_extra, usable_database_url
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
    try:
        from tenantstatus.store import SqlStore
    except ImportError as exc:
        raise missing_server_extra("migrate", exc) from None

    try:
        settings = Settings.from_env(data_dir=data_dir, database_url=database_url)
    except ConfigError as exc:
        raise CommandError(str(exc), USAGE) from None
    resolved = usable_database_url(settings)
    try:
        settings.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError as exc:
        raise known_failure(exc) or CommandError(str(exc), USAGE) from None
    store = SqlStore(resolved)

    async def run() -> None:
        try:
            await store.open()
        finally:
            await store.close()

    try:
        asyncio.run(run())
    except Exception as exc:
        known = known_failure(exc)
        if known is None:
            raise
        raise known from None
    typer.echo(f"schema is up to date ({store.dialect})")
