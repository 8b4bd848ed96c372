"""The transport the dispatcher posts with: pooled, bounded, no redirects, SSRF-safe."""

from __future__ import annotations

import httpx2 as httpx

from tenantstatus.config import Settings
from tenantstatus.delivery.safe_transport import safe_async_transport
from tenantstatus.delivery.url_safety import UrlPolicy

__all__ = ["delivery_transport"]


def delivery_transport(policy: UrlPolicy, settings: Settings) -> httpx.AsyncBaseTransport:
    """A transport whose every connection is checked against `policy` when dialled."""
    limits = httpx.Limits(
        max_connections=settings.delivery_concurrency * 2,
        max_keepalive_connections=settings.delivery_concurrency,
        keepalive_expiry=4.0,
    )
    return safe_async_transport(policy, limits=limits)
