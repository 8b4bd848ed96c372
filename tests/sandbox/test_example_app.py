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


def _wait_for_line(path: Path, line: str, timeout: float = 20.0) -> None:
    """Wait until `line` is printed as a whole line, not just inside another one."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if line in path.read_text(errors="replace").splitlines():
            return
        time.sleep(0.05)
    raise AssertionError(f"{line!r} never printed:\n{path.read_text(errors='replace')}")


def test_the_example_vendor_app_names_each_verified_change_and_pauses_on_it(
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
            upgrade = {"Operation": "upgrade", "VersionName": "R2", "FileVersion": "2.0"}
            admin.post("/admin/tenants/Cust10001/operations", json=upgrade).raise_for_status()
            _wait_for_line(out, "Cust10001: verified Upgrade notification")
            _wait_for_line(out, "Cust10001: pause")
            suspend = {"Operation": "suspend"}
            admin.post("/admin/tenants/Cust10002/operations", json=suspend).raise_for_status()
        _wait_for_line(out, "Cust10002: verified Suspend notification")
        _wait_for_line(out, "Cust10002: pause")
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
    printed = out.read_text()
    assert "Traceback" not in printed, printed
    assert "unknown change" not in printed, printed
