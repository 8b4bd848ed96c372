"""Who is in the portal: sessions opened with an application token or a single-use link.

Session and link tokens are 256 random bits, handed to the browser once and stored
only as SHA-256 hashes. A session ends at logout or `SESSION_LIFETIME` after it
began, whatever happens meanwhile; an application keeps at most
`SESSIONS_PER_APPLICATION`, the oldest going first. A form's CSRF token is an HMAC of
the session token, so it needs no storage and means nothing without the cookie.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from tenantstatus.clock import Clock
from tenantstatus.service.auth import hash_token, new_token
from tenantstatus.service.errors import UnknownApplication
from tenantstatus.store import PortalStore, PushStore
from tenantstatus.store.push_records import Application

__all__ = [
    "LINK_LIFETIME",
    "SESSIONS_PER_APPLICATION",
    "SESSION_LIFETIME",
    "MintedLink",
    "PortalAccess",
    "PortalStores",
    "csrf_matches",
    "csrf_token",
]

SESSION_LIFETIME = timedelta(hours=8)
SESSIONS_PER_APPLICATION = 10
LINK_LIFETIME = timedelta(minutes=15)
_SESSION_PREFIX = "tsps_"
_LINK_PREFIX = "tspl_"
_APP_TOKEN_PREFIX = "tsapp_"  # noqa: S105 - a public prefix


def csrf_token(secret: str) -> str:
    """The CSRF token forms carry alongside the cookie holding `secret`."""
    return hmac.new(secret.encode(), b"tenantstatus portal form", hashlib.sha256).hexdigest()


def csrf_matches(secret: str, sent: str | None) -> bool:
    """Whether a form's CSRF field is the one for `secret`, compared in constant time."""
    return sent is not None and hmac.compare_digest(csrf_token(secret), sent)


@dataclass(frozen=True, slots=True)
class MintedLink:
    """A single-use way in, shown once: its token and until when it works."""

    token: str
    expires_at: datetime


class PortalStores(PortalStore, PushStore, Protocol):
    """What the portal's access needs of the store."""


class PortalAccess:
    """Opens, finds and ends portal sessions; mints and spends single-use links."""

    def __init__(self, store: PortalStores, clock: Clock) -> None:
        self._store = store
        self._clock = clock

    async def login(self, application_token: str) -> tuple[str, str] | None:
        """A new session for the application whose token this is: (session token, app id)."""
        token = application_token.strip()
        if not token.startswith(_APP_TOKEN_PREFIX):
            return None
        application = await self._store.application_by_token_hash(hash_token(token))
        if application is None:
            return None
        session = new_token(_SESSION_PREFIX)
        now = self._clock.now()
        await self._store.add_portal_session(
            hash_token(session),
            application.id,
            now=now,
            expires_at=now + SESSION_LIFETIME,
            keep=SESSIONS_PER_APPLICATION,
        )
        return session, application.id

    async def enter(self, link_token: str) -> tuple[str, str] | None:
        """Spend a link, once, for a new session: (session token, app id), or None."""
        token = link_token.strip()
        if not token.startswith(_LINK_PREFIX):
            return None
        session = new_token(_SESSION_PREFIX)
        now = self._clock.now()
        application_id = await self._store.use_portal_link(
            hash_token(token),
            hash_token(session),
            now=now,
            expires_at=now + SESSION_LIFETIME,
            keep=SESSIONS_PER_APPLICATION,
        )
        return None if application_id is None else (session, application_id)

    async def application_of(self, session: str | None) -> Application | None:
        """The application a live session belongs to, or None."""
        if not session or not session.startswith(_SESSION_PREFIX) or len(session) > 100:
            return None
        return await self._store.portal_application(hash_token(session), self._clock.now())

    async def logout(self, session: str) -> None:
        """End the session."""
        await self._store.end_portal_session(hash_token(session))

    async def mint_link(self, application_id: str) -> MintedLink:
        """A link that opens one session for the application, within `LINK_LIFETIME`."""
        if await self._store.get_application(application_id) is None:
            raise UnknownApplication(application_id)
        token = new_token(_LINK_PREFIX)
        now = self._clock.now()
        expires_at = now + LINK_LIFETIME
        await self._store.add_portal_link(
            hash_token(token), application_id, now=now, expires_at=expires_at
        )
        return MintedLink(token, expires_at)
