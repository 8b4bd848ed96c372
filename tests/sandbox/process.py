"""A `tenantstatus sandbox --json` subprocess on loopback, and what it printed."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import httpx2 as httpx

from tests.support.processes import CLI, free_port


class SandboxProcess:
    """Starts the sandbox with a scenario; `info` is its banner, `played()` its operations."""

    def __init__(
        self,
        workdir: Path,
        *,
        scenario: Mapping[str, Any] | None = None,
        notify: Sequence[str] = (),
        args: Sequence[str] = (),
        env: Mapping[str, str] | None = None,
    ) -> None:
        workdir.mkdir(parents=True, exist_ok=True)
        self.workdir = workdir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.out_path = workdir / "sandbox.out"
        self.err_path = workdir / "sandbox.err"
        self.command = [*CLI, "sandbox", "--port", str(self.port), "--json"]
        self.command += ["--data-dir", str(workdir / "data"), "--log-level", "warning"]
        if scenario is not None:
            path = workdir / "scenario.json"
            path.write_text(json.dumps(scenario))
            self.command += ["--scenario", str(path)]
        for url in notify:
            self.command += ["--notify", url]
        self.command += list(args)
        self.env = {**os.environ, **(env or {})}
        self.env.pop("TENANTSTATUS_OPERATOR_TOKEN", None)
        self.process: subprocess.Popen[bytes] | None = None
        self.info: dict[str, Any] = {}

    def start(self, timeout: float = 30.0) -> SandboxProcess:
        """Start it; wait for its banner and for /readyz."""
        with self.out_path.open("wb") as out, self.err_path.open("wb") as err:
            self.process = subprocess.Popen(self.command, env=self.env, stdout=out, stderr=err)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the sandbox exited early:\n{self.output()}")
            lines = self.lines()
            if lines and self._ready():
                self.info = lines[0]
                return self
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"the sandbox was not ready within {timeout}s:\n{self.output()}")

    def _ready(self) -> bool:
        try:
            return httpx.get(f"{self.url}/readyz", timeout=1.0).status_code == 200
        except httpx.TransportError:
            return False

    def stop(self) -> None:
        """SIGTERM, then wait."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def lines(self) -> list[dict[str, Any]]:
        """Every complete JSON line printed so far: the banner, then played operations."""
        text = self.out_path.read_text(errors="replace") if self.out_path.exists() else ""
        return [json.loads(line) for line in text.split("\n")[:-1] if line.startswith("{")]

    def played(self) -> list[dict[str, Any]]:
        """The operations the scenario ran so far."""
        return [line for line in self.lines()[1:] if "Outcome" in line]

    def output(self) -> str:
        """stdout and stderr, for failure messages."""
        out = self.out_path.read_text(errors="replace") if self.out_path.exists() else ""
        err = self.err_path.read_text(errors="replace") if self.err_path.exists() else ""
        return f"--- stdout\n{out}\n--- stderr\n{err}"

    def stats(self) -> dict[str, Any]:
        """`GET /sim/_stats`."""
        document: dict[str, Any] = httpx.get(f"{self.url}/sim/_stats", timeout=5.0).json()
        return document

    def admin(self) -> httpx.Client:
        """A client for the operator API, with the token from the banner."""
        return httpx.Client(
            base_url=self.url,
            headers={"Authorization": f"Bearer {self.info['OperatorToken']}"},
            timeout=10.0,
        )

    def wait_played(
        self, check: Callable[[dict[str, Any]], bool], what: str, timeout: float = 20.0
    ) -> dict[str, Any]:
        """Wait until the scenario has played an operation that passes `check`."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for played in self.played():
                if check(played):
                    return played
            time.sleep(0.05)
        raise AssertionError(f"the sandbox never played {what}:\n{self.output()}")
