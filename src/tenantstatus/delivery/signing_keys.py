"""The service's signing keys: loaded from the store, decrypted in memory, rotated on demand.

Rotation has two phases. `rotate()` stores a new key that the JWKS publishes at once
but that signs only `publish_delay` later; the store records that instant
(`signs_from`), so every node and dispatch process switches to the new key at the
same moment without being told. The JWKS `Cache-Control` max-age is half the delay
(at most 300 s); from a delay of 60 s up, the other half covers the nodes' 30 s reload,
so any JWKS a receiver cached before the rotation has expired when the first token of
the new key arrives. `rotate(immediately=True)` skips the first phase (for a
compromised key).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from datetime import datetime, timedelta
from typing import cast

from tenantstatus.clock import Clock
from tenantstatus.store.push_records import StoredSigningKey
from tenantstatus.store.roles import KeyStore
from tenantstatus.store.secret_box import SecretBox
from tenantstatus.tokens import TOKEN_LIFETIME, Algorithm, SigningKey, SigningKeyRing

__all__ = ["KeyService"]

log = logging.getLogger(__name__)

# Retired keys are kept a while past their last token, for receivers with slow caches.
_KEEP_RETIRED = TOKEN_LIFETIME + timedelta(hours=1)
REFRESH_INTERVAL = 30.0
# The JWKS may be cached this long, and never longer than half the publish delay.
_MAX_JWKS_AGE = 300
DEFAULT_PUBLISH_DELAY = timedelta(minutes=10)


class KeyService:
    """Holds the current `SigningKeyRing` and replaces it when keys rotate."""

    def __init__(
        self,
        store: KeyStore,
        box: SecretBox,
        clock: Clock,
        algorithm: Algorithm,
        publish_delay: timedelta = DEFAULT_PUBLISH_DELAY,
    ) -> None:
        self._store = store
        self._box = box
        self._clock = clock
        self._algorithm = algorithm
        self.publish_delay = publish_delay
        self._ring: SigningKeyRing | None = None
        # Unsealing a PEM takes tens of milliseconds on the event loop: do it once per key.
        self._unsealed: dict[str, SigningKey] = {}

    @property
    def ring(self) -> SigningKeyRing:
        """The ring the dispatcher signs with, now: a published key takes over on time."""
        ring = self._ring
        if ring is None:
            raise RuntimeError("signing keys are not loaded yet")
        if ring.changes_at is not None:
            now = self._clock.now()
            if now >= ring.changes_at:
                ring = self._ring = SigningKeyRing(ring.keys, now=now)
        return ring

    @property
    def jwks_max_age(self) -> int:
        """Seconds a JWKS may be cached: short enough that a new key is seen before it signs."""
        return min(_MAX_JWKS_AGE, int(self.publish_delay.total_seconds()) // 2)

    async def load(self) -> SigningKeyRing:
        """Load the keys; create the first one (or one of the configured algorithm)."""
        stored = await self._store.signing_keys()
        newest = [k for k in stored if k.retired_at is None]
        if not newest:
            return await self.rotate(immediately=True)  # nothing signs yet: no one to wait for
        if newest[-1].algorithm != self._algorithm:
            return await self.rotate()
        return await self.refresh()

    async def refresh(self) -> SigningKeyRing:
        """Reload from the store (another node may have rotated)."""
        stored = await self._store.signing_keys()
        if any(k.retired_at is None for k in stored):
            now = self._clock.now()
            self._ring = SigningKeyRing((self._unseal(k) for k in stored), now=now)
        return self.ring

    async def rotate(self, *, immediately: bool = False) -> SigningKeyRing:
        """Publish a new key that signs after `publish_delay` (or at once, `immediately`).

        The keys before it stop signing when it starts, and stay published until
        their last tokens expire.
        """
        now = self._clock.now()
        key = SigningKey.generate(self._algorithm, now=now)
        await self._store.rotate_signing_key(
            StoredSigningKey(
                kid=key.kid,
                algorithm=key.algorithm,
                private_key=self._box.seal(key.private_pem()),
                created_at=now,
                signs_from=now if immediately else now + self.publish_delay,
            ),
            purge_before=now - _KEEP_RETIRED,
        )
        return await self.refresh()

    async def keep_fresh(self) -> None:
        """Reload the ring now and then, so a rotation on another node reaches this one."""
        while True:
            await asyncio.sleep(REFRESH_INTERVAL)
            try:
                await self.refresh()
            except Exception as exc:
                log.warning("could not reload signing keys: %s", exc)

    def jwks(self, now: datetime | None = None) -> dict[str, list[dict[str, object]]]:
        """The public keys that verify tokens still valid now."""
        return dict(self.ring.jwks(now=now or self._clock.now()))

    def _unseal(self, stored: StoredSigningKey) -> SigningKey:
        known = self._unsealed.get(stored.kid)
        if known is None:
            known = SigningKey.from_pem(
                self._box.open(stored.private_key),
                cast(Algorithm, stored.algorithm),
                created_at=stored.created_at,
                retired_at=stored.retired_at,
                signs_from=stored.signs_from,
            )
            self._unsealed[stored.kid] = known
        elif known.retired_at != stored.retired_at:
            known = replace(known, retired_at=stored.retired_at)
            self._unsealed[stored.kid] = known
        return known
