"""Operator authentication: bearer tokens, stored only as hashes."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from tenantstatus.store import SettingsStore

__all__ = ["OPERATOR_TOKEN_KEY", "OperatorAuth", "hash_token", "new_token"]

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

    def __init__(self, token_hash: str) -> None:
        self._token_hash = token_hash

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
            return cls(stored), None
        token = new_token()
        kept = await store.put_setting_if_absent(OPERATOR_TOKEN_KEY, hash_token(token))
        # Another process may have won the race; then its token is the one.
        return cls(kept), token if kept == hash_token(token) else None

    def verify(self, authorization: str | None) -> bool:
        """True when the `Authorization` header carries the operator token."""
        if not authorization:
            return False
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return False
        return hmac.compare_digest(hash_token(token.strip()), self._token_hash)
