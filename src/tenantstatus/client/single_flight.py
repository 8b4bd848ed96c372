"""Single flight: callers asking for one tenant at once share the first caller's pull.

The table does no I/O and never waits, so the sync and async clients share it. A
caller `join`s: the first becomes the leader, pulls, and `land`s what it got; the
others wait on the flight's event (a `threading.Event` or an `anyio.Event`, made by
the shell) and read `outcome()`. A leader stopped before it had either an answer or an
error (cancelled) leaves the outcome empty; its waiters then join again.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, Protocol, TypeVar

from tenantstatus.client.cache import PulledStatus

__all__ = ["Flight", "SingleFlight"]


class _Event(Protocol):
    def set(self) -> None: ...


E = TypeVar("E", bound=_Event)


class Flight(Generic[E]):
    """One pull in progress, awaited by the other callers asking for the same tenant."""

    __slots__ = ("done", "error", "status")

    def __init__(self, done: E) -> None:
        self.done = done
        self.status: PulledStatus | None = None
        self.error: Exception | None = None

    def outcome(self) -> PulledStatus | None:
        """The leader's answer, or its error raised; None when it stopped without either."""
        if self.error is not None:
            raise self.error
        return self.status


class SingleFlight(Generic[E]):
    """The pulls in flight, one per tenant."""

    def __init__(self, new_event: Callable[[], E]) -> None:
        self._new_event = new_event
        self._flights: dict[str, Flight[E]] = {}

    def join(self, context_identifier: str) -> tuple[Flight[E], bool]:
        """The tenant's flight, and whether this caller leads it (and must `land` it)."""
        flight = self._flights.get(context_identifier)
        if flight is not None:
            return flight, False
        flight = self._flights[context_identifier] = Flight(self._new_event())
        return flight, True

    def land(
        self,
        context_identifier: str,
        flight: Flight[E],
        status: PulledStatus | None,
        error: Exception | None,
    ) -> None:
        """End the leader's flight with what it got, and wake its waiters."""
        flight.status, flight.error = status, error
        del self._flights[context_identifier]
        flight.done.set()
