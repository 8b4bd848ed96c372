"""`tenantstatus dispatch`: one dispatch process, started by `serve` (not by hand)."""

from __future__ import annotations

import logging
from typing import Annotated

import typer

from tenantstatus.cli.operator_api import USAGE, CommandError
from tenantstatus.cli.startup import missing_server_extra
from tenantstatus.config import ConfigError, Settings

__all__ = ["dispatch"]


def dispatch(
    channel_fd: Annotated[
        int, typer.Option("--channel-fd", help="The socket `serve` talks to this process on.")
    ],
    log_level: Annotated[str, typer.Option("--log-level")] = "info",
) -> None:
    """Deliver notifications for the service that started this process."""
    try:
        from tenantstatus.delivery.worker import run_dispatch_process
    except ImportError as exc:
        raise missing_server_extra("dispatch", exc) from None

    try:
        settings = Settings.from_env()
    except ConfigError as exc:
        raise CommandError(str(exc), USAGE) from None
    logging.basicConfig(
        level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    run_dispatch_process(settings, channel_fd)
