"""The client half installs and imports without the server's dependencies."""

from __future__ import annotations

import json
import subprocess
import sys
import venv
from pathlib import Path

from tests.client.conftest import Operator
from tests.support.processes import ServiceProcess

REPO_ROOT = Path(__file__).resolve().parents[2]

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


def test_a_fresh_environment_without_extras_gets_a_working_client(
    tmp_path: Path, service: ServiceProcess, operator: Operator
) -> None:
    environment = tmp_path / "venv"
    venv.create(environment, with_pip=True)
    python = environment / "bin" / "python"
    subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", str(REPO_ROOT)],
        check=True,
        capture_output=True,
        timeout=600,
    )
    probe = subprocess.run(
        [str(python), "-c", PROBE], capture_output=True, text=True, check=True, timeout=60
    )
    assert json.loads(probe.stdout) == []
    missing = subprocess.run(
        [str(python), "-c", "import fastapi"], capture_output=True, text=True, timeout=60
    )
    assert missing.returncode != 0, "the server extra must not come with the client"
    ctx = operator.add()
    check = subprocess.run(
        [str(environment / "bin" / "tenantstatus"), "check", ctx, "--url", service.url],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert check.returncode == 0, check.stderr
    assert f"{ctx}: Running" in check.stdout
