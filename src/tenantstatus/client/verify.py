"""Verify a state change notification before trusting anything in it.

    verifier = NotificationVerifier.for_service("https://status.example.com", "my-app-id")
    verified = verifier.verify(request_body)      # raises a NotificationRejected
    verified.notification.change_type, verified.delivery_id

The token must be signed with an allowed algorithm (RS256, ES256) by a key from the
issuer's JWKS, by the configured issuer, for this application (`aud`), be valid now
(with a small leeway), and be bound to this very body: `ctx` equals its
ContextIdentifier, `change_type` its ChangeType, `file_version` its FileVersion.
Each delivery id (`jti`) is accepted once.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any, Self

import anyio
import httpx2 as httpx

from tenantstatus.client.errors import KeySetUnavailable
from tenantstatus.client.keys import KeyPlan, jwks_uri_from_discovery
from tenantstatus.client.verifier_core import ALLOWED_ALGORITHMS, VerifiedNotification, VerifierCore
from tenantstatus.clock import Clock

__all__ = ["AsyncNotificationVerifier", "NotificationVerifier"]


def _service_preset(service_url: str) -> tuple[str, str]:
    issuer = service_url.rstrip("/")
    return issuer, f"{issuer}/.well-known/openid-configuration"


def _platform_preset(env: str) -> tuple[str, str]:
    issuer = f"https://{env}.superoffice.com"
    return issuer, f"{issuer}/login/.well-known/jwks"


class NotificationVerifier(VerifierCore):
    """Verify notifications (sync); fetches the issuer's JWKS with httpx2 when needed."""

    def __init__(
        self,
        issuer: str,
        audience: str,
        *,
        jwks_url: str | None = None,
        discovery_url: str | None = None,
        algorithms: Sequence[str] = ALLOWED_ALGORITHMS,
        leeway: timedelta = timedelta(seconds=30),
        clock: Clock | None = None,
        refetch_interval: timedelta = timedelta(seconds=30),
        max_deliveries: int = 100_000,
        webhook_secrets: Sequence[str] = (),
        transport: httpx.BaseTransport | None = None,
        timeout: float = 5.0,
    ) -> None:
        super().__init__(
            issuer,
            audience,
            jwks_url,
            discovery_url,
            algorithms,
            leeway,
            clock,
            refetch_interval,
            max_deliveries,
            webhook_secrets=webhook_secrets,
        )
        self._http = httpx.Client(transport=transport, timeout=timeout)
        self._fetching = threading.Lock()

    @classmethod
    def for_service(cls, service_url: str, audience: str, **options: Any) -> Self:
        """Trust a `tenantstatus` service: issuer = its URL, keys via its discovery document."""
        issuer, discovery_url = _service_preset(service_url)
        return cls(issuer, audience, discovery_url=discovery_url, **options)

    @classmethod
    def for_platform(cls, env: str, audience: str, **options: Any) -> Self:
        """Trust the platform this follows: issuer `https://{env}.superoffice.com`.

        Keys from `https://{env}.superoffice.com/login/.well-known/jwks`. This preset
        follows the platform's documentation; it is not tested against the live platform.
        """
        issuer, jwks_url = _platform_preset(env)
        return cls(issuer, audience, jwks_url=jwks_url, **options)

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
        if self.keys.plan(unverified.kid) is KeyPlan.FETCH:
            with self._fetching:
                if self.keys.plan(unverified.kid) is KeyPlan.FETCH:
                    self._fetch_keys()
        verified = self.check(unverified)
        self.check_webhook(verified, body, headers)
        if remember:
            self.remember(verified)
        return verified

    def close(self) -> None:
        """Close the HTTP connections."""
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _fetch_keys(self) -> None:
        self.keys.attempted()
        try:
            url = self.keys.jwks_url
            if url is None:
                discovery = self.discovery_url or ""
                document = self._get(discovery)
                url = self.keys.jwks_url = jwks_uri_from_discovery(document, self.issuer, discovery)
            self.keys.load(self._get(url))
        except KeySetUnavailable as exc:
            self.keys.failed(exc)  # keep the keys held; `check` says what is missing

    def _get(self, url: str) -> bytes:
        try:
            response = self._http.get(url, headers={"Accept": "application/json"})
        except httpx.TransportError as exc:
            raise KeySetUnavailable(f"cannot reach {url}: {exc}", url=url) from None
        if response.status_code != 200:
            raise KeySetUnavailable(f"{url} answered {response.status_code}", url=url)
        return response.content


class AsyncNotificationVerifier(VerifierCore):
    """Verify notifications (async); fetches the issuer's JWKS with httpx2 when needed."""

    def __init__(
        self,
        issuer: str,
        audience: str,
        *,
        jwks_url: str | None = None,
        discovery_url: str | None = None,
        algorithms: Sequence[str] = ALLOWED_ALGORITHMS,
        leeway: timedelta = timedelta(seconds=30),
        clock: Clock | None = None,
        refetch_interval: timedelta = timedelta(seconds=30),
        max_deliveries: int = 100_000,
        webhook_secrets: Sequence[str] = (),
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: float = 5.0,
    ) -> None:
        super().__init__(
            issuer,
            audience,
            jwks_url,
            discovery_url,
            algorithms,
            leeway,
            clock,
            refetch_interval,
            max_deliveries,
            webhook_secrets=webhook_secrets,
        )
        self._http = httpx.AsyncClient(transport=transport, timeout=timeout)
        self._fetching = anyio.Lock()

    @classmethod
    def for_service(cls, service_url: str, audience: str, **options: Any) -> Self:
        """Trust a `tenantstatus` service: issuer = its URL, keys via its discovery document."""
        issuer, discovery_url = _service_preset(service_url)
        return cls(issuer, audience, discovery_url=discovery_url, **options)

    @classmethod
    def for_platform(cls, env: str, audience: str, **options: Any) -> Self:
        """Trust the platform this follows: issuer `https://{env}.superoffice.com`.

        Keys from `https://{env}.superoffice.com/login/.well-known/jwks`. This preset
        follows the platform's documentation; it is not tested against the live platform.
        """
        issuer, jwks_url = _platform_preset(env)
        return cls(issuer, audience, jwks_url=jwks_url, **options)

    async def verify(
        self,
        body: bytes | str | Mapping[str, Any],
        *,
        headers: Mapping[str, str] | None = None,
        remember: bool = True,
    ) -> VerifiedNotification:
        """Verify a notification body (and its headers); see `NotificationVerifier.verify`."""
        unverified = self.read(body)
        if self.keys.plan(unverified.kid) is KeyPlan.FETCH:
            async with self._fetching:
                if self.keys.plan(unverified.kid) is KeyPlan.FETCH:
                    await self._fetch_keys()
        verified = self.check(unverified)
        self.check_webhook(verified, body, headers)
        if remember:
            self.remember(verified)
        return verified

    async def aclose(self) -> None:
        """Close the HTTP connections."""
        await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def _fetch_keys(self) -> None:
        self.keys.attempted()
        try:
            url = self.keys.jwks_url
            if url is None:
                discovery = self.discovery_url or ""
                document = await self._get(discovery)
                url = self.keys.jwks_url = jwks_uri_from_discovery(document, self.issuer, discovery)
            self.keys.load(await self._get(url))
        except KeySetUnavailable as exc:
            self.keys.failed(exc)  # keep the keys held; `check` says what is missing

    async def _get(self, url: str) -> bytes:
        try:
            response = await self._http.get(url, headers={"Accept": "application/json"})
        except httpx.TransportError as exc:
            raise KeySetUnavailable(f"cannot reach {url}: {exc}", url=url) from None
        if response.status_code != 200:
            raise KeySetUnavailable(f"{url} answered {response.status_code}", url=url)
        return response.content
