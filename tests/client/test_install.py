"""The client half installs and imports without the server's dependencies."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.client.conftest import Operator
from tests.support.processes import ServiceProcess

# Loads the client, then names every loaded module that belongs to the server half.
PROBE = """
import json, sys
import tenantstatus.client
server = ("fastapi", "sqlalchemy", "starlette", "uvicorn", "alembic", "aiosqlite", "asyncpg",
          "jinja2", "prometheus_client")
ours = ("tenantstatus.service", "tenantstatus.store", "tenantstatus.delivery")
loaded = [m for m in sys.modules if m.split(".")[0] in server or m.startswith(ours)]
print(json.dumps(sorted(loaded)))
"""


def test_importing_the_client_loads_no_server_module() -> None:
    result = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, check=True, timeout=60
    )
    assert json.loads(result.stdout) == []


def test_a_fresh_environment_without_extras_imports_the_client_alone(client_only: Path) -> None:
    python = str(client_only / "bin" / "python")
    probe = subprocess.run([python, "-c", PROBE], capture_output=True, text=True, timeout=60)
    assert probe.returncode == 0, probe.stderr
    assert json.loads(probe.stdout) == []
    missing = subprocess.run([python, "-c", "import fastapi"], capture_output=True, timeout=60)
    assert missing.returncode != 0, "the server extra must not come with the client"


def test_a_fresh_environment_without_extras_runs_the_vendor_check(
    client_only: Path, service: ServiceProcess, operator: Operator
) -> None:
    ctx = operator.add()
    check = subprocess.run(
        [str(client_only / "bin" / "tenantstatus"), "check", ctx, "--url", service.url],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert check.returncode == 0, check.stderr
    assert f"{ctx}: Running" in check.stdout
