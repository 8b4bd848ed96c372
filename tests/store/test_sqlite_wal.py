"""The SQLite -wal file shrinks back after a burst, on a real database file."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from tenantstatus.store import SqlStore
from tenantstatus.store.sqlite_reader import WAL_SIZE_LIMIT

pytestmark = pytest.mark.anyio


async def test_the_wal_is_cut_back_to_its_limit_after_a_checkpoint(tmp_path: Path) -> None:
    database = tmp_path / "wal.db"
    wal = tmp_path / "wal.db-wal"
    store = SqlStore(f"sqlite+aiosqlite:///{database}")
    await store.open()
    try:
        async with store._writer.begin() as connection:
            await connection.execute(sa.text("CREATE TABLE burst (data BLOB)"))
            for _ in range(24):
                await connection.execute(sa.text("INSERT INTO burst VALUES (randomblob(1048576))"))
        assert wal.stat().st_size > 2 * WAL_SIZE_LIMIT  # one big transaction: one big WAL
        async with store._writer.begin() as connection:
            await connection.execute(sa.text("DELETE FROM burst"))
        async with store._engine.connect() as connection:
            await connection.execute(sa.text("PRAGMA wal_checkpoint(PASSIVE)"))
        async with store._writer.begin() as connection:
            await connection.execute(sa.text("INSERT INTO burst VALUES (x'00')"))
        assert wal.stat().st_size <= WAL_SIZE_LIMIT
    finally:
        await store.close()
