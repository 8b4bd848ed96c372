"""The README's five-minute walk-through: examples/vendor_app.py against a sandbox."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.sandbox.process import SandboxProcess
from tests.support.processes import free_port

pytestmark = pytest.mark.e2e

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "vendor_app.py"


def _wait_for(path: Path, text: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if text in path.read_text(errors="replace"):
            return
        time.sleep(0.05)
    raise AssertionError(f"{text!r} never printed:\n{path.read_text(errors='replace')}")


def test_the_example_vendor_app_calls_running_tenants_and_pauses_on_a_notification(
    tmp_path: Path,
) -> None:
    port = free_port()
    sandbox = SandboxProcess(tmp_path, notify=[f"http://127.0.0.1:{port}/notify"]).start()
    out = tmp_path / "vendor.out"
    command = [sys.executable, "-u", str(EXAMPLE), "--service", sandbox.url]
    command += ["--app-id", sandbox.info["Applications"][0]["Id"], "--port", str(port)]
    command += ["Cust10001", "Cust10002"]
    with out.open("wb") as sink:
        app = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT)
    try:
        _wait_for(out, 'Cust10001: 200 {"ContextIdentifier":"Cust10001","Host":"sod2"')
        _wait_for(out, 'Cust10002: 200 {"ContextIdentifier":"Cust10002"')
        with sandbox.admin() as admin:
            admin.post("/admin/tenants/Cust10002/operations", json={"Operation": "suspend"})
        _wait_for(out, "Cust10002: verified Suspend notification")
        _wait_for(out, "Cust10002: pause")
        _wait_for(out, "Cust10002: not calling")
    finally:
        app.send_signal(signal.SIGINT)
        try:
            app.wait(timeout=15)
        finally:
            if app.poll() is None:
                app.kill()
            stats = sandbox.stats()
            sandbox.stop()
    assert stats["WhileNotRunning"] == 0
    assert "Traceback" not in out.read_text(), out.read_text()
