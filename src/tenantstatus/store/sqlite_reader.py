"""SQLite's connection settings, and a reader that runs a whole read in one thread hop.

aiosqlite hands every cursor call to its connection's thread and back: four hops per
statement, twenty for the tenant page, which cost it more than its SQL and its Python
together. `SqliteReader` runs a read (a function of a synchronous connection, the same
SQLAlchemy Core code that `AsyncConnection.run_sync` runs on PostgreSQL) on a pysqlite
engine of its own, in one thread, so a read costs one hop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

__all__ = [
    "WAL_SIZE_LIMIT",
    "WRITE_OPTION",
    "ReadsInOneTransaction",
    "SqliteReader",
    "configure_sqlite",
]

T = TypeVar("T")

# The execution option that makes a transaction BEGIN IMMEDIATE.
WRITE_OPTION = "tenantstatus_write"
WAL_SIZE_LIMIT = 8 * 1024 * 1024


def configure_sqlite(engine: sa.Engine) -> None:
    """WAL, a busy timeout, and BEGIN IMMEDIATE for writes so two writers never deadlock."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        # A checkpoint that resets the WAL also cuts the file back to this size: without
        # it the -wal keeps whatever size its busiest moment gave it (18 MB in the soak).
        cursor.execute(f"PRAGMA journal_size_limit={WAL_SIZE_LIMIT}")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: sa.Connection) -> None:
        immediate = connection.get_execution_options().get(WRITE_OPTION, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


class SqliteReader:
    """Runs reads on a file database's own pysqlite engine, in one thread of its own.

    Each read is one transaction (one snapshot of the database), as on the async engine.
    """

    def __init__(self, url: sa.URL, *, echo: bool = False) -> None:
        # One thread uses the connections, so pysqlite's same-thread check adds nothing;
        # turning it off lets `close` dispose of them from the event loop's thread too.
        self._engine = sa.create_engine(
            url.set(drivername="sqlite"),
            echo=echo,
            connect_args={"check_same_thread": False},
            pool_size=1,
        )
        configure_sqlite(self._engine)
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="tenantstatus-sqlite-read")
        self._closed = False

    async def run(self, read: Callable[[sa.Connection], T]) -> T:
        """`read(connection)` in the reader's thread, in one transaction."""
        return await asyncio.get_running_loop().run_in_executor(self._thread, self._run, read)

    def _run(self, read: Callable[[sa.Connection], T]) -> T:
        with self._engine.connect() as connection:
            return read(connection)

    async def close(self) -> None:
        """Close its connections and stop its thread (again: nothing)."""
        if self._closed:
            return
        self._closed = True
        await asyncio.get_running_loop().run_in_executor(self._thread, self._engine.dispose)
        self._thread.shutdown(wait=True)


class ReadsInOneTransaction:
    """Mixed into `SqlStore`: `_read` runs a function of a synchronous connection."""

    _engine: AsyncEngine
    _reader: SqliteReader | None

    async def _read(self, read: Callable[[sa.Connection], T]) -> T:
        """`read(connection)` in one transaction: on a SQLite file in the reader's thread,
        in a single hop; otherwise on the async engine, through `run_sync`."""
        if self._reader is not None:
            return await self._reader.run(read)
        async with self._engine.connect() as connection:
            return await connection.run_sync(read)
