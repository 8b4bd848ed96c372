"""Push delivery: where notifications may go, and the transport that enforces it.

`UrlPolicy` checks a State Change URL at registration; `safe_async_transport` checks
the address actually dialled on every new connection (DNS rebinding).
"""

from __future__ import annotations

from tenantstatus.delivery.safe_transport import UnsafeAddress, safe_async_transport
from tenantstatus.delivery.url_safety import (
    Resolver,
    StaticResolver,
    SystemResolver,
    UnsafeUrl,
    UrlPolicy,
)

__all__ = [
    "Resolver",
    "StaticResolver",
    "SystemResolver",
    "UnsafeAddress",
    "UnsafeUrl",
    "UrlPolicy",
    "safe_async_transport",
]
