"""Applications: registration, their State Change URL and secrets, and tenant approvals."""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta

from tenantstatus.clock import Clock
from tenantstatus.model import is_valid_context_identifier
from tenantstatus.service.auth import hash_token, new_token
from tenantstatus.service.errors import InvalidApplication, UnknownApplication
from tenantstatus.store import PushStore
from tenantstatus.store.push_records import Application
from tenantstatus.store.secret_box import SecretBox
from tenantstatus.webhook_signature import new_webhook_secret

__all__ = ["ApplicationService", "NewCredentials"]

SECRET_OVERLAP = timedelta(hours=24)
_APP_TOKEN_PREFIX = "tsapp_"  # noqa: S105 - a public prefix


@dataclass(frozen=True, slots=True)
class NewCredentials:
    """Shown once, when an application is created or its secret rotated."""

    application: Application
    token: str | None
    secret: str


UrlCheck = Callable[[str], Awaitable[str]]


class ApplicationService:
    """Everything the admin API does with applications."""

    def __init__(
        self,
        store: PushStore,
        box: SecretBox,
        clock: Clock,
        check_url: UrlCheck,
        forget: Callable[[str], None],
    ) -> None:
        self.store = store
        self._box = box
        self._clock = clock
        self._check_url = check_url
        # Drops the dispatcher's cached copy of a changed application.
        self._forget = forget

    async def create(self, name: str, url: str) -> NewCredentials:
        """Register an application; its token and secret are returned once, stored protected."""
        url = await self._check_url(url)
        token = new_token(_APP_TOKEN_PREFIX)
        secret = new_webhook_secret()
        application = Application(
            id="app_" + secrets.token_hex(8),
            name=name,
            url=url,
            token_hash=hash_token(token),
            secret=self._box.seal(secret),
            created_at=self._clock.now(),
        )
        await self.store.add_application(application)
        return NewCredentials(application, token, secret)

    async def get(self, application_id: str) -> Application:
        """One application."""
        application = await self.store.get_application(application_id)
        if application is None:
            raise UnknownApplication(application_id)
        return application

    async def set_url(self, application_id: str, url: str) -> Application:
        """Change the State Change URL (checked against the URL policy)."""
        url = await self._check_url(url)
        return await self._update(application_id, url=url)

    async def rotate_secret(self, application_id: str) -> NewCredentials:
        """A new webhook secret; the old one also signs for 24 hours."""
        application = await self.get(application_id)
        secret = new_webhook_secret()
        updated = await self._update(
            application_id,
            secret=self._box.seal(secret),
            previous_secret=application.secret,
            previous_secret_until=self._clock.now() + SECRET_OVERLAP,
        )
        return NewCredentials(updated, None, secret)

    async def enable(self, application_id: str, *, drop_held: bool) -> tuple[Application, int]:
        """Enable the subscription; its held deliveries go in order, or are dropped.

        Returns the application and how many held deliveries were released or dropped.
        """
        enabled = await self.store.enable_application(
            application_id, self._clock.now(), drop_held=drop_held
        )
        if enabled is None:
            raise UnknownApplication(application_id)
        self._forget(application_id)
        return enabled

    async def approve(self, application_id: str, context_identifier: str) -> bool:
        """The tenant approves the application: it gets the tenant's future notifications."""
        await self.get(application_id)
        self._check_tenant(context_identifier)
        return await self.store.approve(application_id, context_identifier, self._clock.now())

    async def revoke(self, application_id: str, context_identifier: str) -> bool:
        """The tenant withdraws its approval."""
        await self.get(application_id)
        self._check_tenant(context_identifier)
        return await self.store.revoke(application_id, context_identifier)

    async def _update(self, application_id: str, **changes: object) -> Application:
        updated = await self.store.update_application(application_id, **changes)
        if updated is None:
            raise UnknownApplication(application_id)
        self._forget(application_id)
        return updated

    @staticmethod
    def _check_tenant(context_identifier: str) -> None:
        if not is_valid_context_identifier(context_identifier):
            raise InvalidApplication(f"{context_identifier[:80]!r} is not a ContextIdentifier")
