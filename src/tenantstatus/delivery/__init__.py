"""Push delivery: the dispatcher, its retry schedule, and where notifications may go.

`Dispatcher` claims outbox rows and POSTs them; `RetrySchedule` says when to try again;
`UrlPolicy` checks a State Change URL at registration; `safe_async_transport` checks
the address actually dialled on every new connection (DNS rebinding). `PageSigner`
signs the catch-up feed's pages across threads.
"""

from __future__ import annotations

from tenantstatus.delivery.dispatcher import Dispatcher, DispatcherSettings
from tenantstatus.delivery.page_signing import PageSigner
from tenantstatus.delivery.safe_transport import UnsafeAddress, safe_async_transport
from tenantstatus.delivery.url_safety import (
    Resolver,
    StaticResolver,
    SystemResolver,
    UnsafeUrl,
    UrlPolicy,
)
from tenantstatus.retry import RetrySchedule  # the retry rule is pure; re-exported here

__all__ = [
    "Dispatcher",
    "DispatcherSettings",
    "PageSigner",
    "Resolver",
    "RetrySchedule",
    "StaticResolver",
    "SystemResolver",
    "UnsafeAddress",
    "UnsafeUrl",
    "UrlPolicy",
    "safe_async_transport",
]
