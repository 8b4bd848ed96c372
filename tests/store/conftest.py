"""The store contract suite runs once per backend; each backend is a fixture param."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tenantstatus.store import SqlStore
from tests.support.postgres import PostgresServer


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'store.db'}"
    server: PostgresServer = request.getfixturevalue("postgres")
    return server.create_database("store").replace("postgresql://", "postgresql+asyncpg://")


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[SqlStore]:
    backend = SqlStore(database_url)
    await backend.open()
    yield backend
    await backend.close()
