"""Keeps this node's state cache in step with the other nodes, from the store's changes."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncGenerator, Callable

from tenantstatus.service.tenants.service import TenantService
from tenantstatus.store import ALL_TENANTS

__all__ = ["ChangeFeed"]

log = logging.getLogger(__name__)


class ChangeFeed:
    """Applies the changes other nodes commit (`TenantStore.changes`) to the local cache."""

    def __init__(
        self,
        changes: Callable[[], AsyncGenerator[str, None]],
        tenants: TenantService,
        *,
        retry: float = 1.0,
    ) -> None:
        self._changes = changes
        self._tenants = tenants
        self._retry = retry
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start following the changes."""
        self._task = asyncio.create_task(self._follow(), name="tenantstatus-change-feed")

    async def stop(self) -> None:
        """Stop following."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _follow(self) -> None:
        async with contextlib.aclosing(self._changes()) as changes:
            async for context_identifier in changes:
                await self._apply(context_identifier)

    async def _apply(self, context_identifier: str) -> None:
        while True:
            try:
                if context_identifier == ALL_TENANTS:
                    await self._tenants.catch_up()
                else:
                    await self._tenants.reload(context_identifier)
                return
            except Exception as exc:
                log.warning(
                    "could not apply change %r (%s); catching up later", context_identifier, exc
                )
                await asyncio.sleep(self._retry)
                context_identifier = ALL_TENANTS
