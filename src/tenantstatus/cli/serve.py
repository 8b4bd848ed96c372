"""`tenantstatus serve`: run the service."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Annotated

import typer

from tenantstatus.cli.operator_api import USAGE, CommandError
from tenantstatus.cli.startup import (
    StartupGuard,
    WorkerFailures,
    check_secret_key,
    missing_server_extra,
    startup_failure,
    usable_database_url,
)
from tenantstatus.config import DEFAULT_HOST, DEFAULT_PORT, ConfigError, Settings

__all__ = ["serve"]


def serve(
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = DEFAULT_HOST,
    port: Annotated[int, typer.Option("--port", help="Port to listen on.")] = DEFAULT_PORT,
    data_dir: Annotated[
        Path | None,
        typer.Option(
            "--data-dir", help="Where the SQLite database lives. [env TENANTSTATUS_DATA_DIR]"
        ),
    ] = None,
    database_url: Annotated[
        str | None,
        typer.Option("--database-url", help="A database URL. [env TENANTSTATUS_DATABASE_URL]"),
    ] = None,
    public_url: Annotated[
        str | None,
        typer.Option(
            "--public-url", help="This service's public URL. [env TENANTSTATUS_PUBLIC_URL]"
        ),
    ] = None,
    workers: Annotated[int, typer.Option("--workers", min=1, help="Worker processes.")] = 1,
    log_level: Annotated[str, typer.Option("--log-level")] = "info",
    header_timeout: Annotated[
        float | None,
        typer.Option(
            "--header-timeout",
            min=0.001,
            help="Seconds to send a request head. [env TENANTSTATUS_HEADER_TIMEOUT; default 10]",
        ),
    ] = None,
    max_connections: Annotated[
        int | None,
        typer.Option(
            "--max-connections",
            min=1,
            help="Open connections per process; newer ones are reset. "
            "[env TENANTSTATUS_MAX_CONNECTIONS; default: the fd limit less a reserve]",
        ),
    ] = None,
) -> None:
    """Run the service: state API, operator API, health and metrics."""
    try:
        import uvicorn

        from tenantstatus.service.app import create_app
        from tenantstatus.service.connections import prepare_process
    except ImportError as exc:
        raise missing_server_extra("serve", exc) from None

    try:
        settings = Settings.from_env(
            host=host,
            port=port,
            data_dir=data_dir,
            database_url=database_url,
            public_url=public_url,
            workers=workers,
            header_timeout=header_timeout,
            max_connections=max_connections,
        )
    except ConfigError as exc:
        raise CommandError(str(exc), USAGE) from None
    usable_database_url(settings)
    check_secret_key(settings)
    if settings.workers > 1 and settings.resolved_database_url.startswith("sqlite"):
        raise CommandError(
            "--workers above 1 needs PostgreSQL (--database-url postgresql://...): each worker "
            "keeps its own state cache, and only PostgreSQL tells them about each other's changes",
            USAGE,
        )
    logging.basicConfig(
        level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    prepare_process(settings.header_timeout, settings.max_connections)
    options = {
        # By name: a spawned worker imports it after it answers its health check.
        "http": "tenantstatus.service.state.fast_protocol:StateFastProtocol",
        "host": settings.host,
        "port": settings.port,
        "log_level": log_level,
        "access_log": False,
        "server_header": False,
        "proxy_headers": False,
        "lifespan": "on",
    }
    if settings.workers == 1:
        try:
            guard = StartupGuard(create_app(settings))
        except Exception as exc:
            raise startup_failure(exc) from None
        try:
            uvicorn.run(guard, **options)  # type: ignore[arg-type]
        except SystemExit:
            if guard.failure is None:
                raise
            raise startup_failure(guard.failure) from None
        return
    # Each worker is a full node: it builds its app from the environment.
    os.environ.update(settings.child_environment())
    with WorkerFailures() as workers_left:
        uvicorn.run(
            "tenantstatus.cli.startup:worker_app",
            factory=True,
            workers=settings.workers,
            **options,  # type: ignore[arg-type]
        )
        failure = workers_left.failure()
    if failure is not None:
        raise failure
