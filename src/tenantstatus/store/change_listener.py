"""The LISTEN half of change notification: what other processes commit, as it happens.

Every commit that changes a tenant or its schedule sends `NOTIFY tenantstatus_changes`
with the ContextIdentifier (`SqlStore._announce`). `listen_for_changes` holds its own
connection, listens, and yields each ContextIdentifier; after (re)connecting it first
yields `ALL_TENANTS`, since changes made while it was away were not heard. A consumer
too slow for the bounded queue gets `ALL_TENANTS` in place of what was dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncGenerator, Callable

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

__all__ = ["ALL_TENANTS", "CHANGE_CHANNEL", "listen_for_changes"]

log = logging.getLogger(__name__)

CHANGE_CHANNEL = "tenantstatus_changes"
ALL_TENANTS = "*"
_QUEUE = 10_000
_PING_EVERY = 5.0
_CONNECT_TIMEOUT = 10.0

# asyncpg's listener callback: (connection, pid, channel, payload).
Heard = Callable[[object, int, str, str], None]


async def listen_for_changes(
    engine: AsyncEngine, *, retry: float = 1.0
) -> AsyncGenerator[str, None]:
    """ContextIdentifiers as other processes commit changes, or `ALL_TENANTS` to catch up.

    `engine` is a PostgreSQL engine of its own (a LISTEN holds its connection). Runs
    until the consumer stops iterating; a lost connection is re-established.
    """
    queue: asyncio.Queue[str] = asyncio.Queue(maxsize=_QUEUE)

    def heard(connection: object, pid: int, channel: str, payload: str) -> None:
        _put(queue, payload)

    listener = asyncio.create_task(_listen(engine, heard, queue, retry), name="tenantstatus-listen")
    try:
        while True:
            yield await queue.get()
    finally:
        listener.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await listener


def _put(queue: asyncio.Queue[str], payload: str) -> None:
    try:
        queue.put_nowait(payload)
    except asyncio.QueueFull:
        while not queue.empty():
            queue.get_nowait()
        queue.put_nowait(ALL_TENANTS)


async def _listen(
    engine: AsyncEngine, heard: Heard, queue: asyncio.Queue[str], retry: float
) -> None:
    while True:
        try:
            async with asyncio.timeout(_CONNECT_TIMEOUT):
                connection = await engine.connect()
            try:
                await _hold(connection, heard, queue)
            finally:
                with contextlib.suppress(Exception):
                    async with asyncio.timeout(2):
                        await connection.close()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("change feed lost its connection (%s); reconnecting", exc)
        await asyncio.sleep(retry)


async def _hold(connection: AsyncConnection, heard: Heard, queue: asyncio.Queue[str]) -> None:
    raw = (await connection.get_raw_connection()).driver_connection
    if raw is None:
        raise ConnectionError("the pooled connection has lost its asyncpg connection")
    closed = asyncio.Event()
    raw.add_termination_listener(lambda _: closed.set())
    await raw.add_listener(CHANGE_CHANNEL, heard)
    # Whatever happened while we were not listening: catch up.
    _put(queue, ALL_TENANTS)
    while not closed.is_set() and not raw.is_closed():
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(_PING_EVERY):
                await closed.wait()
        if not raw.is_closed():
            await raw.execute("SELECT 1")
