"""Keeps this node's state cache in step with the other nodes: PostgreSQL LISTEN/NOTIFY.

Every commit that changes a tenant or its schedule sends `NOTIFY tenantstatus_changes`
with the ContextIdentifier. Each node listens on its own connection and reloads that
tenant. After a lost connection it reconnects and catches up on everything it may have
missed, by revision.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

import asyncpg  # type: ignore[import-untyped]

from tenantstatus.service.tenants.service import TenantService
from tenantstatus.store.sql import ALL_TENANTS, CHANGE_CHANNEL

__all__ = ["ChangeFeed"]

log = logging.getLogger(__name__)

_QUEUE = 10_000


class ChangeFeed:
    """Listens for changes committed by any node and applies them to the local cache."""

    def __init__(self, dsn: str, tenants: TenantService, *, retry: float = 1.0) -> None:
        self._dsn = dsn
        self._tenants = tenants
        self._retry = retry
        self._queue: asyncio.Queue[str] = asyncio.Queue(maxsize=_QUEUE)
        self._tasks: list[asyncio.Task[None]] = []
        self.connected = asyncio.Event()

    def start(self) -> None:
        """Start listening and applying."""
        self._tasks = [
            asyncio.create_task(self._listen(), name="tenantstatus-change-feed"),
            asyncio.create_task(self._apply(), name="tenantstatus-change-apply"),
        ]

    async def stop(self) -> None:
        """Stop both tasks."""
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []

    def _on_notify(self, connection: object, pid: int, channel: str, payload: str) -> None:
        try:
            self._queue.put_nowait(payload)
        except asyncio.QueueFull:
            self._drain()
            self._queue.put_nowait(ALL_TENANTS)

    def _drain(self) -> None:
        while not self._queue.empty():
            self._queue.get_nowait()

    async def _listen(self) -> None:
        while True:
            connection: asyncpg.Connection | None = None
            try:
                connection = await asyncpg.connect(self._dsn, timeout=10)
                closed = asyncio.Event()
                connection.add_termination_listener(lambda _, done=closed: done.set())
                await connection.add_listener(CHANGE_CHANNEL, self._on_notify)
                # Whatever happened while we were not listening: catch up.
                self._queue.put_nowait(ALL_TENANTS)
                self.connected.set()
                while not closed.is_set() and not connection.is_closed():
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(5):
                            await closed.wait()
                    if not connection.is_closed():
                        await connection.execute("SELECT 1")
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("change feed lost its connection (%s); reconnecting", exc)
            finally:
                self.connected.clear()
                if connection is not None and not connection.is_closed():
                    with contextlib.suppress(Exception):
                        await connection.close(timeout=2)
            await asyncio.sleep(self._retry)

    async def _apply(self) -> None:
        while True:
            payload = await self._queue.get()
            try:
                if payload == ALL_TENANTS:
                    await self._tenants.catch_up()
                else:
                    await self._tenants.reload(payload)
            except Exception as exc:
                log.warning("could not apply change %r (%s); catching up later", payload, exc)
                await asyncio.sleep(self._retry)
                with contextlib.suppress(asyncio.QueueFull):
                    self._queue.put_nowait(ALL_TENANTS)
