"""The sandbox's public names are a decision: a change to this list must be deliberate."""

from __future__ import annotations

import subprocess
import sys

import tenantstatus.sandbox


def test_sandbox_exports() -> None:
    assert sorted(tenantstatus.sandbox.__all__) == [
        "DEFAULT_NOTICE",
        "DEFAULT_TENANTS",
        "Sandbox",
        "SandboxInfo",
        "Scenario",
        "ScenarioError",
        "SimulatedTenant",
        "Step",
        "ToolingScript",
        "create_sandbox",
        "parse_duration",
        "sandbox_settings",
    ]
    for name in tenantstatus.sandbox.__all__:
        assert getattr(tenantstatus.sandbox, name) is not None


def test_the_cli_loads_no_server_module_for_the_sandbox_command_until_it_runs() -> None:
    probe = (
        "import sys, tenantstatus.cli, tenantstatus.sandbox; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('fastapi', 'starlette', 'uvicorn', 'sqlalchemy') "
        "or m.startswith(('tenantstatus.service', 'tenantstatus.store'))))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == "[]"
