"""The sandbox: the service plus simulated tenant installations, in one process.

A vendor tests an integration against it without the platform:

    tenantstatus sandbox --port 8080 --scenario scenario.json --notify http://127.0.0.1:9000/n

Each simulated tenant's `Endpoint` points back into the sandbox
(`http://127.0.0.1:8080/sim/sod2/Cust10001`), which serves its `/api` version
document, answers its `/api/v1/...` calls only while it runs, answers 421 on a host it
moved away from, and counts the calls it got while it was not running
(`GET /sim/_stats`). A scenario (`Scenario`) plays operations through the real service,
so they push real signed notifications; with a `ToolingScript`, the sandbox also plays
the platform's tooling and finishes every upgrade and restore, however started.

The scenario model needs nothing but the client's dependencies; the app
(`create_sandbox`, `Sandbox`) needs the server extra and is imported on first use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from tenantstatus.sandbox.scenario import (
    DEFAULT_NOTICE,
    DEFAULT_TENANTS,
    Scenario,
    ScenarioError,
    SimulatedTenant,
    Step,
    parse_duration,
)
from tenantstatus.sandbox.tooling_script import ToolingScript

if TYPE_CHECKING:
    from tenantstatus.sandbox.app import Sandbox, SandboxInfo, create_sandbox, sandbox_settings

__all__ = [
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

_SERVER_NAMES = frozenset({"Sandbox", "SandboxInfo", "create_sandbox", "sandbox_settings"})


def __getattr__(name: str) -> Any:
    # The server half loads only when asked for, so `tenantstatus.sandbox` stays importable
    # (for the CLI) on a client-only install.
    if name in _SERVER_NAMES:
        return getattr(importlib.import_module("tenantstatus.sandbox.app"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
