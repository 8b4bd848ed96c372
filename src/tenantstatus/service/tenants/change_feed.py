"""Keeps this node's state cache in step with the other nodes, from the store's changes."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncGenerator, Callable

from tenantstatus.service.tenants.service import TenantService
from tenantstatus.store import ALL_TENANTS

__all__ = ["follow_changes"]

log = logging.getLogger(__name__)


async def follow_changes(
    changes: Callable[[], AsyncGenerator[str, None]],
    tenants: TenantService,
    *,
    retry: float = 1.0,
) -> None:
    """Apply what other nodes commit (`TenantStore.changes`) to this node's cache; forever.

    A change that cannot be applied (the database is away) turns into a catch-up on
    every revision since, retried every `retry` seconds until it succeeds.
    """
    async with contextlib.aclosing(changes()) as changed:
        async for context_identifier in changed:
            await _apply(tenants, context_identifier, retry)


async def _apply(tenants: TenantService, context_identifier: str, retry: float) -> None:
    while True:
        try:
            if context_identifier == ALL_TENANTS:
                await tenants.catch_up()
            else:
                await tenants.reload(context_identifier)
            return
        except Exception as exc:
            log.warning(
                "could not apply change %r (%s); catching up later", context_identifier, exc
            )
            await asyncio.sleep(retry)
            context_identifier = ALL_TENANTS
