"""What a vendor can do to its deliveries: redeliver one, recover dead ones, send a test.

The operator API (`deliveries redeliver`, `deliveries recover`, `app test`) and the
vendor portal both call these, so the two can never disagree. Each takes the id of
the application acting (None for the operator) and refuses what is not its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from tenantstatus.model import TEST_CONTEXT_IDENTIFIER, ChangeType
from tenantstatus.service.errors import (
    DeliveryHeld,
    InvalidApplication,
    UnknownApplication,
    UnknownApproval,
    UnknownDelivery,
    UnknownTenant,
)
from tenantstatus.service.services import Services
from tenantstatus.store.push_records import Attempt, Delivery, DeliveryStatus

__all__ = ["RECOVER_LIMIT", "Recovered", "owned_delivery", "recover", "redeliver", "send_test"]

RECOVER_LIMIT = 1000
# What a test without a tenant carries: plainly not a real installation.
_TEST_VERSION_NAME = "Test notification"
_TEST_FILE_VERSION = "0.0.0.0"  # noqa: S104 - a FileVersion, not an address
_TEST_PUBLIC_ENDPOINT = "test.invalid"  # RFC 2606: never a real host


@dataclass(frozen=True, slots=True)
class Recovered:
    """How many dead deliveries went back to pending, and whether more remain."""

    recovered: int
    remaining: bool


def _check_owner(acting: str | None, application_id: str) -> None:
    if acting is not None and acting != application_id:
        raise UnknownApplication(application_id)


async def owned_delivery(
    services: Services, acting: str | None, delivery_id: str
) -> tuple[Delivery, list[Attempt]]:
    """The delivery and its attempts; refused (not found) unless `acting` owns it."""
    found = await services.store.get_delivery(delivery_id)
    if found is None or (acting is not None and found[0].application_id != acting):
        raise UnknownDelivery(delivery_id)
    return found


async def redeliver(services: Services, acting: str | None, delivery_id: str) -> None:
    """Send a delivery again, from the first step of the retry schedule; not a held one."""
    delivery, _ = await owned_delivery(services, acting, delivery_id)
    if delivery.status == DeliveryStatus.HELD:
        raise DeliveryHeld(delivery_id, delivery.application_id)
    await services.store.requeue([delivery_id], services.clock.now())
    services.delivery.wake()


async def recover(
    services: Services,
    acting: str | None,
    application_id: str,
    since: datetime,
    *,
    limit: int = RECOVER_LIMIT,
) -> Recovered:
    """Send again the application's dead deliveries created since `since`, up to `limit`."""
    _check_owner(acting, application_id)
    await services.applications.get(application_id)
    ids = await services.store.dead_deliveries_since(application_id, since, limit=limit + 1)
    recovered = await services.store.requeue(ids[:limit], services.clock.now())
    services.delivery.wake()
    return Recovered(recovered, len(ids) > limit)


async def send_test(
    services: Services,
    acting: str | None,
    application_id: str,
    *,
    context_identifier: str | None = None,
    change_type: ChangeType = ChangeType.Upgrade,
) -> Delivery:
    """Queue a test notification, sent and signed like every other; no tenant changes."""
    _check_owner(acting, application_id)
    application = await services.applications.get(application_id)
    if not application.enabled:
        raise InvalidApplication(
            f"{application_id} is disabled ({application.disabled_reason}); enable it first"
        )
    ctx = context_identifier
    if ctx is None or ctx == TEST_CONTEXT_IDENTIFIER:
        ctx, version_name, file_version = (
            TEST_CONTEXT_IDENTIFIER,
            _TEST_VERSION_NAME,
            _TEST_FILE_VERSION,
        )
        host = _TEST_PUBLIC_ENDPOINT
    else:
        if not await services.store.is_approved(application_id, ctx):
            raise UnknownApproval(application_id, ctx)
        tenant = await services.store.get_tenant(ctx)
        if tenant is None:
            raise UnknownTenant(ctx)
        version_name, file_version = tenant.version_name, tenant.file_version
        host = urlsplit(tenant.endpoint).netloc.rsplit("@", 1)[-1]
    delivery = await services.store.enqueue_test_delivery(
        application_id,
        ctx,
        change_type,
        version_name=version_name,
        file_version=file_version,
        public_endpoint=host if change_type is ChangeType.Move else None,
        at=services.clock.now(),
    )
    services.delivery.wake()
    return delivery
