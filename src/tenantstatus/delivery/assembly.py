"""The dispatcher as the service builds it, in its own process or in a dispatch process."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import httpx2 as httpx

from tenantstatus.clock import Clock
from tenantstatus.config import Settings
from tenantstatus.delivery.dispatcher import Dispatcher, DispatcherSettings, Observer
from tenantstatus.delivery.recipients import RecipientDirectory
from tenantstatus.delivery.retry import RetrySchedule
from tenantstatus.delivery.safe_transport import DEFAULT_LIMITS, safe_async_transport
from tenantstatus.delivery.url_safety import UrlPolicy
from tenantstatus.service.signing_keys import KeyService
from tenantstatus.store import SqlStore
from tenantstatus.store.secret_box import SecretBox

__all__ = ["DispatcherParts", "build_dispatcher", "delivery_transport", "url_policy"]


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


@dataclass(frozen=True, slots=True)
class DispatcherParts:
    """A dispatcher with the recipient cache and transport it owns."""

    dispatcher: Dispatcher
    recipients: RecipientDirectory
    transport: httpx.AsyncBaseTransport


def build_dispatcher(
    settings: Settings,
    store: SqlStore,
    box: SecretBox,
    keys: KeyService,
    clock: Clock,
    *,
    observe: Observer,
    report_depth: Callable[[int], None],
) -> DispatcherParts:
    """The dispatcher `settings` describe, over `store`, signing with `keys`."""
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
            schedule=RetrySchedule.parse(settings.retry_schedule),
        ),
        observe=observe,
        report_depth=report_depth,
    )
    return DispatcherParts(dispatcher, recipients, transport)
