"""Where a delivery goes and what signs it: applications, decrypted, cached briefly."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime

import httpx2 as httpx

from tenantstatus.store.push_records import Application
from tenantstatus.store.roles import Outbox
from tenantstatus.store.secret_box import SecretBox

__all__ = ["Recipient", "RecipientDirectory"]


@dataclass(frozen=True, slots=True)
class Recipient:
    """An application's State Change URL and the webhook secrets to sign with."""

    application_id: str
    url: str
    secrets: tuple[str, ...]
    enabled: bool
    endpoint: httpx.URL = field(init=False, compare=False)

    def __post_init__(self) -> None:
        # Parsed once per cache period rather than once per delivery.
        object.__setattr__(self, "endpoint", httpx.URL(self.url))


class RecipientDirectory:
    """Looks applications up for the dispatcher, keeping each for `ttl` seconds.

    The service calls `forget` when it changes an application, so one node sees its own
    changes at once; other nodes within `ttl`.
    """

    def __init__(self, store: Outbox, box: SecretBox, *, ttl: float = 5.0) -> None:
        self._store = store
        self._box = box
        self._ttl = ttl
        self._cache: dict[str, tuple[float, Recipient | None]] = {}

    def forget(self, application_id: str) -> None:
        """Drop a cached application."""
        self._cache.pop(application_id, None)

    async def get(self, application_id: str, now: datetime) -> Recipient | None:
        """The recipient, or None when the application no longer exists."""
        cached = self._cache.get(application_id)
        if cached is None or cached[0] < time.monotonic():
            if len(self._cache) > 10_000:
                self._cache.clear()
            application = await self._store.get_application(application_id)
            recipient = None if application is None else self._unseal(application, now)
            # Decrypted once per `ttl`, not per delivery; never beyond the old secret's end.
            expires = time.monotonic() + self._ttl
            if application is not None and application.previous_secret_until is not None:
                left = (application.previous_secret_until - now).total_seconds()
                if left > 0:
                    expires = min(expires, time.monotonic() + left)
            cached = (expires, recipient)
            self._cache[application_id] = cached
        return cached[1]

    def _unseal(self, application: Application, now: datetime) -> Recipient:
        secrets = [self._box.open(application.secret).decode()]
        until = application.previous_secret_until
        if application.previous_secret and until is not None and until > now:
            secrets.append(self._box.open(application.previous_secret).decode())
        return Recipient(application.id, application.url, tuple(secrets), application.enabled)
