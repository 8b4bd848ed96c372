"""Starting the service from the CLI, and a failed start told in one line.

uvicorn prints a failed startup as a traceback. `StartupGuard` wraps the app: it keeps
the exception, silences uvicorn's report of it, and `startup_failure` turns it into the
one line that says what to do. A failure nobody foresaw is logged once, with its
traceback, in the service's log.

With `serve --workers N` each worker builds its app through `worker_app`, guarded the
same way; a worker that cannot start leaves its one line in `WorkerFailures`' file and
exits as uvicorn's supervisor expects of a failed start, and the parent tells it.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import sys
import tempfile
from collections.abc import Callable, MutableMapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from tenantstatus.cli.operator_api import NEGATIVE, UNREACHABLE, USAGE, CommandError
from tenantstatus.config import ConfigError, Settings

__all__ = [
    "StartupGuard",
    "WorkerFailures",
    "check_secret_key",
    "known_failure",
    "missing_server_extra",
    "startup_failure",
    "usable_database_url",
    "worker_app",
]

log = logging.getLogger("tenantstatus.serve")

_SCHEMES = ("sqlite+aiosqlite", "postgresql+asyncpg")
_UVICORN_GIVES_UP = "Application startup failed. Exiting."
_STARTUP_FAILURE = 3  # uvicorn's exit code for a failed start: its supervisor then stops
_FAILURE_FILE = "TENANTSTATUS_WORKER_FAILURE_FILE"

Message = MutableMapping[str, Any]


def missing_server_extra(command: str, exc: ImportError) -> CommandError:
    """The error for a server command on a client-only install."""
    return CommandError(
        f"tenantstatus {command} needs the server extra (no module {exc.name!r}): "
        "pip install 'tenantstatus[server]'",
        USAGE,
    )


def _redacted(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return parts._replace(netloc=netloc).geturl()


def usable_database_url(settings: Settings) -> str:
    """The settings' SQLAlchemy URL, or a usage error for a database tenantstatus cannot use."""
    url = settings.resolved_database_url
    if url.split("://", 1)[0] in _SCHEMES:
        return url
    raise CommandError(
        f"--database-url {_redacted(settings.database_url or url)!r}: tenantstatus keeps its "
        "data in PostgreSQL or SQLite; give postgresql://USER@HOST:PORT/DATABASE, or leave "
        "it out for SQLite in --data-dir",
        USAGE,
    )


def check_secret_key(settings: Settings) -> None:
    """Raise a usage error unless TENANTSTATUS_SECRET_KEY, when set, is a Fernet key."""
    if not settings.secret_key:
        return
    from cryptography.fernet import Fernet

    try:
        Fernet(settings.secret_key.encode())
    except ValueError:
        raise CommandError(
            "TENANTSTATUS_SECRET_KEY is not a Fernet key (32 url-safe base64-encoded bytes); "
            "make one with: python -c 'from cryptography.fernet import Fernet; "
            "print(Fernet.generate_key().decode())'",
            USAGE,
        ) from None


class StartupGuard:
    """An ASGI wrapper that keeps a failed startup's exception instead of a printed traceback."""

    def __init__(self, app: Any, on_failure: Callable[[Exception], None] | None = None) -> None:
        self.app = app
        self.failure: Exception | None = None
        self._on_failure = on_failure

    async def __call__(self, scope: Message, receive: Any, send: Any) -> None:
        if scope["type"] != "lifespan":
            await self.app(scope, receive, send)
            return
        logging.getLogger("uvicorn.error").addFilter(self._quiet)

        async def send_quietly(message: Message) -> None:
            if message["type"] == "lifespan.startup.failed":
                message = {"type": "lifespan.startup.failed", "message": ""}
            await send(message)

        try:
            await self.app(scope, receive, send_quietly)
        except Exception as exc:
            if self.failure is None and self._on_failure is not None:
                self._on_failure(exc)
            self.failure = self.failure or exc
            raise

    def _quiet(self, record: logging.LogRecord) -> bool:
        return not (self.failure is not None and record.getMessage() == _UVICORN_GIVES_UP)


def known_failure(exc: Exception) -> CommandError | None:
    """The one line for a startup failure with a known cause, or None."""
    from tenantstatus.delivery.url_safety import UnsafeUrl
    from tenantstatus.store import StoreUnavailable
    from tenantstatus.store.private_files import NotPrivate
    from tenantstatus.store.secret_box import SecretBoxError

    if isinstance(exc, SecretBoxError):
        return CommandError(
            f"{exc}; start with the key the data was sealed with, or a new --data-dir", USAGE
        )
    if isinstance(exc, NotPrivate):
        return CommandError(str(exc), USAGE)
    if isinstance(exc, StoreUnavailable):
        return CommandError(
            f"{exc}; check --database-url and that the database is running", UNREACHABLE
        )
    if isinstance(exc, ConnectionError | TimeoutError | socket.gaierror):
        return CommandError(
            f"cannot reach the database: {exc}; check --database-url and that the database "
            "is running",
            UNREACHABLE,
        )
    if isinstance(exc, OSError) and exc.filename is not None:
        return CommandError(f"{exc.strerror}: {exc.filename}; check --data-dir", USAGE)
    if isinstance(exc, UnsafeUrl):
        return CommandError(f"--notify: {exc}", USAGE)
    if isinstance(exc, ConfigError):
        return CommandError(str(exc), USAGE)
    return None


def startup_failure(exc: Exception, what: str = "the service") -> CommandError:
    """The one line for an exception that stopped a start; an unforeseen one is logged too."""
    known = known_failure(exc)
    if known is not None:
        return known
    log.error("%s could not start", what, exc_info=exc)
    return CommandError(
        f"{what} could not start: {type(exc).__name__}: {str(exc).rstrip('.')}; "
        "the log above has the traceback",
        NEGATIVE,
    )


class WorkerFailures:
    """Where the workers of `serve --workers N` leave a failed start for the parent to tell."""

    def __enter__(self) -> WorkerFailures:
        self._folder = tempfile.TemporaryDirectory(prefix="tenantstatus-serve-")
        self.path = Path(self._folder.name) / "failure.json"
        os.environ[_FAILURE_FILE] = str(self.path)
        return self

    def __exit__(self, *exc_info: object) -> None:
        os.environ.pop(_FAILURE_FILE, None)
        self._folder.cleanup()

    def failure(self) -> CommandError | None:
        """The one line of the first worker that could not start, if one could not."""
        try:
            left = json.loads(self.path.read_text())
        except FileNotFoundError:
            return None
        return CommandError(str(left["message"]), int(left["exit_code"]))


def _hand_to_parent(exc: Exception) -> None:
    error = startup_failure(exc, "a worker")
    path = Path(os.environ[_FAILURE_FILE])
    written = path.with_name(f"{os.getpid()}.json")
    written.write_text(json.dumps({"message": error.message, "exit_code": error.exit_code}))
    written.replace(path)  # whole, even when two workers fail at once


def worker_app() -> StartupGuard:
    """The app of one `serve --workers N` worker (a uvicorn factory), guarded as `serve`'s."""
    from tenantstatus.service.app import app_from_environment

    try:
        return StartupGuard(app_from_environment(), on_failure=_hand_to_parent)
    except Exception as exc:
        _hand_to_parent(exc)
        sys.exit(_STARTUP_FAILURE)
