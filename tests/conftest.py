"""Fixtures shared by every test: the anyio backend and a real service process."""

from __future__ import annotations

import subprocess
import venv
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.postgres import PostgresServer
from tests.support.processes import ServiceProcess
from tests.support.receivers import Receiver

# Fails any test that reads beside the checkout: CI runs from a clone with nothing next to it.
pytest_plugins = ["tests.support.checkout_guard"]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    """One `tenantstatus serve` on loopback for the whole session, on its own SQLite file."""
    process = ServiceProcess(tmp_path_factory.mktemp("service") / "data").start()
    yield process
    process.stop()


@pytest.fixture
def fresh_service(tmp_path: Path) -> Iterator[ServiceProcess]:
    """A service of the test's own, for tests that restart or kill it."""
    process = ServiceProcess(tmp_path / "data")
    yield process
    process.stop()


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """A PostgreSQL cluster for the session, on a free loopback port."""
    server = PostgresServer().start()
    yield server
    server.destroy()


@pytest.fixture(scope="session")
def receiver() -> Iterator[Receiver]:
    """A webhook receiver on loopback that records everything (see tests/support/receivers)."""
    running = Receiver().start()
    yield running
    running.stop()


@pytest.fixture(scope="session")
def client_only(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtual environment with `pip install <repo>`: no extras (built once)."""
    environment = tmp_path_factory.mktemp("client-only") / "venv"
    venv.create(environment, with_pip=True)
    subprocess.run(
        [
            str(environment / "bin" / "python"),
            "-m",
            "pip",
            "install",
            "-q",
            "--disable-pip-version-check",
            str(Path(__file__).resolve().parents[1]),
        ],
        check=True,
        capture_output=True,
        timeout=600,
    )
    return environment
