"""The store contract suite runs once per backend; each backend is a fixture param."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tenantstatus.store import SqlStore


def _sqlite_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'store.db'}"


BACKENDS = {"sqlite": _sqlite_url}


@pytest.fixture(params=sorted(BACKENDS))
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[SqlStore]:
    backend = SqlStore(BACKENDS[request.param](tmp_path))
    await backend.open()
    yield backend
    await backend.close()
