"""Real processes for end-to-end tests: a `tenantstatus serve` on a loopback port."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import httpx2 as httpx

OPERATOR_TOKEN = "tsop_test-operator-token"
CLI = [sys.executable, "-m", "tenantstatus"]


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ServiceProcess:
    """A `tenantstatus serve` subprocess on loopback, with its own data directory."""

    def __init__(
        self,
        data_dir: Path,
        *,
        env: Mapping[str, str] | None = None,
        args: Sequence[str] = (),
        port: int | None = None,
    ) -> None:
        self.data_dir = data_dir
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.token = OPERATOR_TOKEN
        self.log_path = data_dir.parent / f"{data_dir.name}-serve.log"
        self.env = {
            **os.environ,
            "TENANTSTATUS_OPERATOR_TOKEN": OPERATOR_TOKEN,
            "TENANTSTATUS_STATE_TTL": "60",
            **(env or {}),
        }
        self.args = list(args)
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 30.0) -> ServiceProcess:
        """Start the process and wait until /readyz answers 200."""
        command = [
            *CLI,
            "serve",
            "--port",
            str(self.port),
            "--data-dir",
            str(self.data_dir),
            "--log-level",
            "warning",
            *self.args,
        ]
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(command, env=self.env, stdout=log, stderr=log)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"serve exited early:\n{self.log()}")
            try:
                if httpx.get(f"{self.url}/readyz", timeout=1.0).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"serve was not ready within {timeout}s:\n{self.log()}")

    def stop(self, sig: int = signal.SIGTERM) -> None:
        """Stop the process (SIGTERM for a clean stop, SIGKILL for a crash)."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def restart(self) -> ServiceProcess:
        """Stop cleanly and start again on the same port and data."""
        self.stop()
        return self.start()

    def log(self) -> str:
        """What the process wrote so far."""
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def admin(self) -> httpx.Client:
        """A client for the operator API."""
        return httpx.Client(
            base_url=self.url,
            headers={"Authorization": f"Bearer {self.token}"},
            timeout=10.0,
        )

    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run `tenantstatus` against this service as a subprocess."""
        env = {**os.environ, "TENANTSTATUS_URL": self.url, "TENANTSTATUS_TOKEN": self.token}
        result = subprocess.run(
            [*CLI, *args], env=env, capture_output=True, text=True, timeout=120, check=False
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"tenantstatus {' '.join(args)} exited {result.returncode}:\n"
                f"{result.stdout}\n{result.stderr}"
            )
        return result
