"""Fixtures of the status page tests: a service with tenants that have a past, and Chromium."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import anyio
import pytest

from tenantstatus.store import SqlStore
from tests.status import seeding
from tests.support.processes import ServiceProcess

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / ".ci" / "node" / "node_modules" / "axe-core" / "axe.min.js"


@dataclass
class Seeded:
    """A running service whose tenants have 90 days of history."""

    service: ServiceProcess
    now: datetime
    story: str = "Cust1001"
    upgrading: str = "Cust1002"
    suspended: str = "Cust1003"
    announced: str = "Cust1004"
    incident: str = "Cust1005"


async def _seed(data_dir: Path, now: datetime) -> None:
    store = SqlStore(f"sqlite+aiosqlite:///{data_dir / 'tenantstatus.db'}")
    await store.open()
    try:
        await seeding.seed_story(store, "Cust1001", now)
        await seeding.seed_upgrading(store, "Cust1002", now)
        await seeding.seed_suspended(store, "Cust1003", now)
        await seeding.seed_announced_upgrade(store, "Cust1004", now)
        await seeding.seed_host_incident(store, ["Cust1005", "Cust1006"], now)
        await seeding.seed_rollout(store, ["Roll001", "Roll002", "Roll003"], now)
    finally:
        await store.close()


@pytest.fixture(scope="session")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seeded]:
    """`tenantstatus serve` on a database seeded with three tenants and their past."""
    now = datetime.now(UTC)
    data_dir = tmp_path_factory.mktemp("status") / "data"
    data_dir.mkdir(parents=True, mode=0o700)
    # A thread of its own: Playwright's sync API may hold this thread's event loop.
    with ThreadPoolExecutor(1) as pool:
        pool.submit(anyio.run, _seed, data_dir, now).result()
    service = ServiceProcess(data_dir).start()
    yield Seeded(service, now)
    service.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's Chromium, driven by Playwright. Missing Chromium fails, never skips.

    Module-scoped: Playwright's sync API keeps an event loop on this thread while it
    runs, and the anyio tests of other modules need the thread to themselves.
    """
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium (see .ci/run)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture(scope="session")
def axe_source() -> str:
    """axe-core, installed by .ci/run with npm."""
    if not AXE.exists():
        pytest.fail(
            f"{AXE} is missing: npm install --no-save --prefix .ci/node axe-core@4 (see .ci/run)"
        )
    return AXE.read_text()
