"""The dispatcher as the service builds it, in its own process or in dispatch processes.

`open_delivery` is the one place that decides where deliveries run: on the service's
event loop, or (with `delivery_processes` > 0) in `tenantstatus dispatch` children.
"""

from __future__ import annotations

from collections.abc import Callable

import httpx2 as httpx

from tenantstatus.clock import Clock
from tenantstatus.config import Settings
from tenantstatus.delivery.control import DeliveryControl, InProcessDelivery
from tenantstatus.delivery.dispatcher import Dispatcher, DispatcherSettings, Observer
from tenantstatus.delivery.processes import DispatchProcesses
from tenantstatus.delivery.recipients import RecipientDirectory
from tenantstatus.delivery.safe_transport import DEFAULT_LIMITS, safe_async_transport
from tenantstatus.delivery.signing_keys import KeyService
from tenantstatus.delivery.url_safety import UrlPolicy
from tenantstatus.store import SqlStore
from tenantstatus.store.secret_box import SecretBox

__all__ = [
    "build_dispatcher",
    "delivery_transport",
    "open_delivery",
    "url_policy",
]


def url_policy(settings: Settings) -> UrlPolicy:
    """Where State Change URLs may point, from `settings`: at registration and on connect."""
    return UrlPolicy(allow_http=settings.allow_http, allowed_networks=settings.allowed_networks)


def delivery_transport(policy: UrlPolicy, settings: Settings) -> httpx.AsyncBaseTransport:
    """A transport whose every connection is checked against `policy` when dialled."""
    limits = httpx.Limits(
        max_connections=settings.delivery_concurrency * 2,
        max_keepalive_connections=settings.delivery_concurrency,
        keepalive_expiry=DEFAULT_LIMITS.keepalive_expiry,
    )
    return safe_async_transport(policy, limits=limits)


def build_dispatcher(
    settings: Settings,
    store: SqlStore,
    box: SecretBox,
    keys: KeyService,
    clock: Clock,
    *,
    observe: Observer,
    report_depth: Callable[[int], None],
) -> InProcessDelivery:
    """The dispatcher `settings` describe, over `store`, signing with `keys`; not started."""
    policy = url_policy(settings)
    recipients = RecipientDirectory(store, box)
    transport = delivery_transport(policy, settings)
    dispatcher = Dispatcher(
        store,
        recipients,
        lambda: keys.ring,
        transport,
        clock,
        issuer=settings.resolved_public_url,
        settings=DispatcherSettings(
            concurrency=settings.delivery_concurrency,
            timeout=settings.delivery_timeout,
            signing_threads=settings.signing_threads,
            schedule=settings.retry_schedule,
            max_held=settings.max_held_deliveries,
        ),
        observe=observe,
        report_depth=report_depth,
    )
    return InProcessDelivery(dispatcher, recipients, transport)


def open_delivery(
    settings: Settings,
    store: SqlStore,
    box: SecretBox,
    keys: KeyService,
    clock: Clock,
    *,
    observe: Observer,
    report_depth: Callable[[int], None],
) -> DeliveryControl:
    """Where `settings` say deliveries run: here, or in dispatch processes. Not started."""
    if settings.delivery_processes > 0:
        return DispatchProcesses(
            settings.delivery_processes,
            settings.child_environment(),
            observe=observe,
            report_depth=report_depth,
            stop_timeout=settings.delivery_timeout + 10,
        )
    return build_dispatcher(
        settings, store, box, keys, clock, observe=observe, report_depth=report_depth
    )
