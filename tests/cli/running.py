"""Run the installed `tenantstatus` script and read how it failed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

# The console script pip installed beside this interpreter, as a user runs it.
SCRIPT = str(Path(sys.executable).with_name("tenantstatus"))


def run_cli(
    *args: str,
    env: Mapping[str, str] | None = None,
    command: Sequence[str] = (SCRIPT,),
    timeout: float = 120,
) -> subprocess.CompletedProcess[str]:
    """Run `tenantstatus ARGS` with this environment (plus `env`); never raises on its exit."""
    return subprocess.run(
        [*command, *args],
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def error_line(result: subprocess.CompletedProcess[str], exit_code: int) -> str:
    """Assert a one-line `error: ...` failure with `exit_code`; return the line."""
    assert result.returncode == exit_code, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr + result.stdout, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: "), lines
    return lines[0]


def last_error_line(result: subprocess.CompletedProcess[str], exit_code: int) -> str:
    """As `error_line`, for a command that logs before it fails (`serve`): the last line."""
    assert result.returncode == exit_code, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr + result.stdout, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, result.stderr
    assert result.stderr.splitlines()[-1] == errors[0], result.stderr
    return errors[0]


def json_error(result: subprocess.CompletedProcess[str], exit_code: int) -> dict[str, Any]:
    """Assert a `--json` failure: one JSON object on stderr with the error and the exit code."""
    assert result.returncode == exit_code, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr + result.stdout, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    document: dict[str, Any] = json.loads(lines[0])
    assert document["exit_code"] == exit_code
    assert isinstance(document["error"], str) and document["error"]
    assert "\n" not in document["error"]
    return document
