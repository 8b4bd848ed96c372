"""The HTTP client the dispatcher posts with: pooled, bounded, no redirects, SSRF-safe."""

from __future__ import annotations

import httpx2 as httpx

from tenantstatus.config import Settings
from tenantstatus.delivery.safe_transport import safe_async_transport
from tenantstatus.delivery.url_safety import UrlPolicy

__all__ = ["delivery_client"]


def delivery_client(policy: UrlPolicy, settings: Settings) -> httpx.AsyncClient:
    """An `AsyncClient` whose every connection is checked against `policy` when dialled."""
    limits = httpx.Limits(
        max_connections=settings.delivery_concurrency * 2,
        max_keepalive_connections=settings.delivery_concurrency,
    )
    return httpx.AsyncClient(
        transport=safe_async_transport(policy, limits=limits),
        timeout=httpx.Timeout(settings.delivery_timeout),
        follow_redirects=False,
        trust_env=False,
    )
