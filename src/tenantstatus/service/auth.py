"""Operator authentication: bearer tokens, stored only as hashes."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import secrets
from typing import Literal

from tenantstatus.store import SettingsStore

__all__ = ["OPERATOR_TOKEN_KEY", "OperatorAuth", "TokenSource", "hash_token", "new_token"]

log = logging.getLogger(__name__)

TokenSource = Literal["configured", "stored", "generated"]

OPERATOR_TOKEN_KEY = "operator_token_sha256"  # noqa: S105 - a settings key
_TOKEN_PREFIX = "tsop_"  # noqa: S105 - a public prefix


def new_token(prefix: str = _TOKEN_PREFIX) -> str:
    """A fresh random token; the prefix makes leaked tokens easy to scan for."""
    return prefix + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    """SHA-256 of the token. Tokens are 256 random bits, so a fast hash is enough."""
    return hashlib.sha256(token.encode()).hexdigest()


class OperatorAuth:
    """Checks operator bearer tokens against one stored hash."""

    def __init__(self, token_hash: str, source: TokenSource = "configured") -> None:
        self._token_hash = token_hash
        self.source: TokenSource = source

    @classmethod
    async def establish(
        cls, store: SettingsStore, configured: str | None
    ) -> tuple[OperatorAuth, str | None]:
        """Use the configured token, or the stored hash, or generate a token on first start.

        Returns the auth and, only when it was just generated, the token to show once.
        """
        if configured:
            return cls(hash_token(configured)), None
        stored = await store.get_setting(OPERATOR_TOKEN_KEY)
        if stored is not None:
            return cls(stored, "stored"), None
        token = new_token()
        kept = await store.put_setting_if_absent(OPERATOR_TOKEN_KEY, hash_token(token))
        # Another process may have won the race; then its token is the one.
        if kept != hash_token(token):
            return cls(kept, "stored"), None
        return cls(kept, "generated"), token

    async def follow_store(self, store: SettingsStore, interval: float = 2.0) -> None:
        """Pick up a token that `tenantstatus operator-token reset` stored, until cancelled.

        A configured token (`TENANTSTATUS_OPERATOR_TOKEN`) is never replaced this way.
        """
        if self.source == "configured":
            return
        while True:
            await asyncio.sleep(interval)
            try:
                stored = await store.get_setting(OPERATOR_TOKEN_KEY)
            except Exception as exc:
                # The database is away; the token in hand still holds.
                log.debug("cannot read the operator token's hash: %s", exc)
                continue
            if stored is not None and stored != self._token_hash:
                self._token_hash = stored
                log.warning("the operator token was replaced; the old one no longer works")

    def verify(self, authorization: str | None) -> bool:
        """True when the `Authorization` header carries the operator token."""
        if not authorization:
            return False
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return False
        return hmac.compare_digest(hash_token(token.strip()), self._token_hash)
