"""How a failed command ends: one line on stderr, or one JSON object with `--json`.

    error: cannot reach the service at http://127.0.0.1:8080: ...; is it running, ...
    {"error": "cannot reach the service at ...", "exit_code": 3}

Exit codes: 0 done, 1 a negative answer (refused, not running), 2 a usage error,
3 the service (or its database) cannot be reached, 130 interrupted, 70 a bug.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping, Sequence
from typing import Any

# Typer carries its own copy of click; the usage errors are only importable from it.
from typer._click.exceptions import UsageError

__all__ = ["BUG", "INTERRUPTED", "report", "usage_message", "wants_json"]

INTERRUPTED = 130  # as a shell reports a process that SIGINT stopped
BUG = 70  # EX_SOFTWARE: a failure tenantstatus has no message for


def wants_json(args: Sequence[str]) -> bool:
    """Whether the command line asks for JSON: `--json` before any `--`."""
    for arg in args:
        if arg == "--":
            return False
        if arg == "--json":
            return True
    return False


def report(
    message: str, exit_code: int, *, as_json: bool, details: Mapping[str, Any] | None = None
) -> None:
    """Print the failure on stderr: `error: ...` on one line, or a JSON object on one line."""
    line = " ".join(message.split())
    if as_json:
        document = {"error": line, "exit_code": exit_code, **(details or {})}
        print(json.dumps(document, ensure_ascii=False), file=sys.stderr, flush=True)
    else:
        print(f"error: {line}", file=sys.stderr, flush=True)


def usage_message(exc: UsageError) -> str:
    """A usage error on one line: what is wrong, the command's usage, where help is."""
    message = exc.format_message().rstrip(".")
    if message:
        message = message[0].lower() + message[1:]
    if exc.ctx is None:
        return message
    usage = exc.ctx.get_usage().removeprefix("Usage: ")
    return f"{message}; usage: {usage} (see '{exc.ctx.command_path} --help')"
