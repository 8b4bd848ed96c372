"""Verify a state change notification before trusting anything in it.

    verifier = NotificationVerifier.for_service("https://status.example.com", "my-app-id")
    verified = verifier.verify(request_body)      # raises a NotificationRejected
    verified.notification.change_type, verified.delivery_id

The token must be signed with an allowed algorithm (RS256, ES256) by a key from the
issuer's JWKS, by the configured issuer, for this application (`aud`), be valid now
(with a small leeway), and be bound to this very body: `ctx` equals its
ContextIdentifier, `change_type` its ChangeType, `file_version` its FileVersion.
Each delivery id (`jti`) is accepted once.

The checks and the key-fetch flow live in `VerifierCore`; these two shells only fetch.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any, Self, Unpack

import anyio
import httpx2 as httpx

from tenantstatus.client.errors import KeySetUnavailable
from tenantstatus.client.flows import arun_flow, run_flow
from tenantstatus.client.verifier_core import VerifiedNotification, VerifierCore, VerifierOptions

__all__ = ["AsyncNotificationVerifier", "NotificationVerifier"]

_ACCEPT = {"Accept": "application/json"}


def _body_of(url: str, response: httpx.Response) -> bytes:
    if response.status_code != 200:
        raise KeySetUnavailable(f"{url} answered {response.status_code}", url=url)
    return response.content


def _unreachable(url: str, exc: httpx.TransportError) -> KeySetUnavailable:
    return KeySetUnavailable(f"cannot reach {url}: {exc}", url=url)


class NotificationVerifier(VerifierCore):
    """Verify notifications (sync); fetches the issuer's JWKS with httpx2 when needed."""

    def __init__(
        self,
        issuer: str,
        audience: str,
        *,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 5.0,
        **options: Unpack[VerifierOptions],
    ) -> None:
        super().__init__(issuer, audience, **options)
        self._http = httpx.Client(transport=transport, timeout=timeout)
        self._fetching = threading.Lock()

    def verify(
        self,
        body: bytes | str | Mapping[str, Any],
        *,
        headers: Mapping[str, str] | None = None,
        remember: bool = True,
    ) -> VerifiedNotification:
        """Verify a notification body; raises a `NotificationRejected` subclass.

        With `webhook_secrets` configured, pass the request's `headers` too: the
        Standard Webhooks signature must verify as well as the token. With
        `remember=False` the delivery id is not recorded: call `remember()` once the
        notification has been handled, so a failed handling can be retried.
        """
        unverified = self.read(body)
        if self.needs_keys(unverified):
            with self._fetching:  # one fetch at a time; the others wait, then find the keys
                if self.needs_keys(unverified):
                    run_flow(self.fetch_keys(unverified.kid), self._get)
        return self.finish(unverified, body, headers, remember)

    def close(self) -> None:
        """Close the HTTP connections."""
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _get(self, url: str) -> bytes:
        try:
            return _body_of(url, self._http.get(url, headers=_ACCEPT))
        except httpx.TransportError as exc:
            raise _unreachable(url, exc) from None


class AsyncNotificationVerifier(VerifierCore):
    """Verify notifications (async); fetches the issuer's JWKS with httpx2 when needed."""

    def __init__(
        self,
        issuer: str,
        audience: str,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: float = 5.0,
        **options: Unpack[VerifierOptions],
    ) -> None:
        super().__init__(issuer, audience, **options)
        self._http = httpx.AsyncClient(transport=transport, timeout=timeout)
        self._fetching = anyio.Lock()

    async def verify(
        self,
        body: bytes | str | Mapping[str, Any],
        *,
        headers: Mapping[str, str] | None = None,
        remember: bool = True,
    ) -> VerifiedNotification:
        """Verify a notification body (and its headers); see `NotificationVerifier.verify`."""
        unverified = self.read(body)
        if self.needs_keys(unverified):
            async with self._fetching:
                if self.needs_keys(unverified):
                    await arun_flow(self.fetch_keys(unverified.kid), self._get)
        return self.finish(unverified, body, headers, remember)

    async def aclose(self) -> None:
        """Close the HTTP connections."""
        await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def _get(self, url: str) -> bytes:
        try:
            return _body_of(url, await self._http.get(url, headers=_ACCEPT))
        except httpx.TransportError as exc:
            raise _unreachable(url, exc) from None
