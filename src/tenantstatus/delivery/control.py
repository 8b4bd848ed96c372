"""What the rest of the service tells whoever delivers: work to do, keys, applications.

The dispatcher runs in the service process (`InProcessDelivery`) or in processes of its
own (`DispatchProcesses`); the API, the tenant service and the key routes talk to
either through `DeliveryControl`.
"""

from __future__ import annotations

from typing import Protocol

import httpx2 as httpx

from tenantstatus.delivery.dispatcher import Dispatcher
from tenantstatus.delivery.recipients import RecipientDirectory

__all__ = ["DeliveryControl", "InProcessDelivery"]


class DeliveryControl(Protocol):
    """The dispatcher's controls, wherever it runs."""

    def start(self) -> None:
        """Start delivering."""

    async def stop(self) -> None:
        """Finish the deliveries in flight and stop."""

    def wake(self) -> None:
        """New or newly due deliveries: look now rather than at the next poll."""

    def keys_rotated(self) -> None:
        """The signing keys changed in the store: sign with the new active key."""

    def forget(self, application_id: str) -> None:
        """An application changed in the store: drop what was cached of it."""


class InProcessDelivery:
    """The dispatcher in this process: it shares the key ring and the recipients."""

    def __init__(
        self,
        dispatcher: Dispatcher,
        recipients: RecipientDirectory,
        transport: httpx.AsyncBaseTransport,
    ) -> None:
        self._dispatcher = dispatcher
        self._recipients = recipients
        self._transport = transport

    def start(self) -> None:
        """Start the dispatcher on this event loop."""
        self._dispatcher.start()

    async def stop(self) -> None:
        """Stop the dispatcher, then close its connections."""
        await self._dispatcher.stop()
        await self._transport.aclose()

    def wake(self) -> None:
        """Wake the dispatcher."""
        self._dispatcher.wake()

    def keys_rotated(self) -> None:
        """Nothing to do: the dispatcher reads the ring this process rotated."""

    def forget(self, application_id: str) -> None:
        """Drop the cached recipient."""
        self._recipients.forget(application_id)
