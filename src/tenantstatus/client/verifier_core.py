"""The verifier's sans-I/O core: the checks a notification's token must pass.

The shells (`NotificationVerifier`, `AsyncNotificationVerifier` in `verify`) fetch the
issuer's keys when `SigningKeys.plan` says so; everything else happens here.

The token must be signed with an allowed algorithm (RS256, ES256) by a key from the
issuer's JWKS, by the configured issuer, for this application (`aud`), be valid now
(with a small leeway), and be bound to this very body: `ctx` equals its
ContextIdentifier, `change_type` its ChangeType, `file_version` its FileVersion.
Each delivery id (`jti`) is accepted once.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Self, TypedDict

import jwt

from tenantstatus.client.errors import (
    AlgorithmNotAllowed,
    ChangeTypeMismatch,
    ContextMismatch,
    DuplicateDelivery,
    FileVersionMismatch,
    InvalidSignature,
    KeySetUnavailable,
    MalformedNotification,
    TokenExpired,
    TokenNotYetValid,
    WrongAudience,
    WrongIssuer,
)
from tenantstatus.client.flows import Flow
from tenantstatus.client.keys import DeliveryLog, KeyPlan, SigningKeys, jwks_uri_from_discovery
from tenantstatus.client.webhook_headers import check_webhook_headers
from tenantstatus.clock import Clock, SystemClock
from tenantstatus.model import ChangeType, StateChangeNotification, WireFormatError
from tenantstatus.tokens import TEST_CLAIM
from tenantstatus.webhook_signature import webhook_key

__all__ = [
    "ALLOWED_ALGORITHMS",
    "Unverified",
    "VerifiedNotification",
    "VerifierCore",
    "VerifierOptions",
]

#: Asymmetric algorithms only: `none` and HMAC (keyed with a public key) are refused.
ALLOWED_ALGORITHMS = ("RS256", "ES256")
# Every token signed with one key has the same header segment: parse each only once.
_HEADER_CACHE = 32
# Unknown kids are remembered to rate-limit refetches: a forged one must stay small.
_MAX_KID = 256
# Standard Webhooks' own tolerance for webhook-timestamp.
WEBHOOK_TOLERANCE = timedelta(minutes=5)
_REQUIRED_CLAIMS = ["iss", "aud", "exp", "jti", "ctx", "change_type"]


@dataclass(frozen=True, slots=True)
class VerifiedNotification:
    """A notification whose token checked out: everything in it may be trusted."""

    notification: StateChangeNotification
    delivery_id: str
    key_id: str
    claims: Mapping[str, Any]

    @property
    def context_identifier(self) -> str:
        """The tenant the notification is about."""
        return self.notification.context_identifier

    @property
    def change_type(self) -> ChangeType | None:
        """What happened, or None for a change type this version does not know."""
        return self.notification.known_change_type

    @property
    def is_test(self) -> bool:
        """True for a test notification (`app test`): no tenant changed, act on nothing.

        Read from the token's signed `test` claim, never from a header, so it can be
        neither forged onto a real notification nor stripped from a test one.
        """
        return self.claims.get(TEST_CLAIM) is True

    @property
    def expires_at(self) -> datetime:
        """When the token expires."""
        return datetime.fromtimestamp(self.claims["exp"], UTC)


class VerifierOptions(TypedDict, total=False):
    """The verifiers' settings besides HTTP; `VerifierCore.__init__` documents their defaults."""

    jwks_url: str | None
    discovery_url: str | None
    algorithms: Sequence[str]
    leeway: timedelta
    clock: Clock | None
    refetch_interval: timedelta
    max_deliveries: int
    webhook_secrets: Sequence[str]


@dataclass(frozen=True, slots=True)
class Unverified:
    """A notification read, its token's algorithm allowed, its signature not yet checked."""

    notification: StateChangeNotification
    algorithm: str
    kid: str


class VerifierCore:
    """The checks, with no I/O: the shells fetch keys when `SigningKeys.plan` says so."""

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
    ) -> None:
        if (jwks_url is None) == (discovery_url is None):
            raise ValueError("give either jwks_url or discovery_url")
        unknown = set(algorithms) - set(ALLOWED_ALGORITHMS)
        if unknown:
            raise ValueError(f"only {', '.join(ALLOWED_ALGORITHMS)} can be allowed, not {unknown}")
        self.issuer = issuer
        self.audience = audience
        self.discovery_url = discovery_url
        self.algorithms = tuple(algorithms)
        self.leeway = leeway
        self.clock = clock or SystemClock()
        self.keys = SigningKeys(jwks_url, self.clock, refetch_interval=refetch_interval)
        self.deliveries = DeliveryLog(self.clock, max_deliveries)
        self._webhook_keys = [webhook_key(secret) for secret in webhook_secrets]
        self._headers: dict[str, dict[str, Any]] = {}
        self._jwt = jwt.PyJWT(
            options={
                "verify_exp": False,  # checked against the clock seam below
                "verify_nbf": False,
                "verify_iat": False,
                "require": _REQUIRED_CLAIMS,
            }
        )

    @classmethod
    def for_service(cls, service_url: str, audience: str, **options: Any) -> Self:
        """Trust a `tenantstatus` service: issuer = its URL, keys via its discovery document."""
        issuer = service_url.rstrip("/")
        discovery_url = f"{issuer}/.well-known/openid-configuration"
        return cls(issuer, audience, discovery_url=discovery_url, **options)

    @classmethod
    def for_platform(cls, env: str, audience: str, **options: Any) -> Self:
        """Trust the platform this follows: issuer `https://{env}.superoffice.com`.

        Keys from `https://{env}.superoffice.com/login/.well-known/jwks`. This preset
        follows the platform's documentation; it is not tested against the live platform.
        """
        issuer = f"https://{env}.superoffice.com"
        return cls(issuer, audience, jwks_url=f"{issuer}/login/.well-known/jwks", **options)

    def needs_keys(self, unverified: Unverified) -> bool:
        """Whether the signing keys must be fetched before `unverified` can be checked."""
        return self.keys.plan(unverified.kid) is KeyPlan.FETCH

    def fetch_keys(self, kid: str | None = None) -> Flow[None]:
        """Fetch the JWKS (through the discovery document, if that is how it is found).

        `kid` is the key id that made the fetch necessary, if any. A failure keeps the
        keys held; `check` then says what is missing. The shells run one at a time.
        """
        self.keys.attempted(kid)
        try:
            url = self.keys.jwks_url
            if url is None:
                discovery = self.discovery_url or ""
                document = yield discovery
                url = self.keys.jwks_url = jwks_uri_from_discovery(document, self.issuer, discovery)
            self.keys.load((yield url))
        except KeySetUnavailable as exc:
            self.keys.failed(exc)
        except GeneratorExit:
            self.keys.abandoned(kid)  # stopped midway (cancelled): the next caller fetches
            raise
        finally:
            self.keys.finished()

    def finish(
        self,
        unverified: Unverified,
        body: bytes | str | Mapping[str, Any],
        headers: Mapping[str, str] | None,
        remember: bool,
    ) -> VerifiedNotification:
        """Check the token and the webhook signature; record the delivery if `remember`."""
        verified = self.check(unverified)
        self.check_webhook(verified, body, headers)
        if remember and not self.remember(verified):
            # The same delivery, checked by another thread at the same time, got in first.
            raise DuplicateDelivery(
                f"delivery {verified.delivery_id} was accepted before",
                context_identifier=verified.context_identifier,
                delivery_id=verified.delivery_id,
            )
        return verified

    def remember(self, verified: VerifiedNotification) -> bool:
        """Record the delivery as accepted, so a repeat is refused; False if it was already."""
        until = float(verified.claims["exp"]) + self.leeway.total_seconds()
        return self.deliveries.remember(verified.delivery_id, until)

    def read(self, body: bytes | str | Mapping[str, Any]) -> Unverified:
        try:
            notification = StateChangeNotification.from_json(body)
        except WireFormatError as exc:
            raise MalformedNotification(f"not a state change notification: {exc}") from None
        ctx = notification.context_identifier
        segment = notification.token.split(".", 1)[0]
        header = self._headers.get(segment)
        if header is None:
            header = _header(segment, notification.token, ctx)
            if len(self._headers) >= _HEADER_CACHE:
                self._headers.clear()
            self._headers[segment] = header
        elif notification.token.count(".") != 2:
            raise MalformedNotification("Token is not a JWT", context_identifier=ctx)
        algorithm = header.get("alg")
        if algorithm not in self.algorithms:
            raise AlgorithmNotAllowed(
                f"token algorithm {algorithm!r} is not allowed (allowed: "
                f"{', '.join(self.algorithms)})",
                context_identifier=ctx,
            )
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise MalformedNotification("the token header has no kid", context_identifier=ctx)
        if len(kid) > _MAX_KID:
            raise MalformedNotification(
                f"the token's kid is longer than {_MAX_KID} characters", context_identifier=ctx
            )
        return Unverified(notification, algorithm, kid)

    def check(self, unverified: Unverified) -> VerifiedNotification:
        notification = unverified.notification
        ctx = notification.context_identifier
        key = self.keys.key(unverified.kid, context_identifier=ctx)
        if key.algorithm_name != unverified.algorithm:
            raise AlgorithmNotAllowed(
                f"token says {unverified.algorithm}, but key {unverified.kid!r} is "
                f"{key.algorithm_name}",
                context_identifier=ctx,
            )
        claims = self._decode(notification.token, key, unverified.algorithm, ctx)
        self._check_time(claims, ctx)
        _check_binding(claims, notification)
        delivery_id = claims["jti"]
        if not isinstance(delivery_id, str):
            raise MalformedNotification("the token's jti is not a string", context_identifier=ctx)
        if delivery_id in self.deliveries:
            raise DuplicateDelivery(
                f"delivery {delivery_id} was accepted before",
                context_identifier=ctx,
                delivery_id=delivery_id,
            )
        return VerifiedNotification(notification, delivery_id, unverified.kid, claims)

    def check_webhook(
        self,
        verified: VerifiedNotification,
        body: bytes | str | Mapping[str, Any],
        headers: Mapping[str, str] | None,
    ) -> None:
        """With webhook secrets configured, the Standard Webhooks headers must verify too."""
        if not self._webhook_keys:
            return
        ctx = verified.context_identifier
        if isinstance(body, Mapping):
            raise MalformedNotification(
                "webhook signatures cover the raw body: verify the bytes received",
                context_identifier=ctx,
            )
        check_webhook_headers(
            self._webhook_keys,
            headers,
            body.encode() if isinstance(body, str) else body,
            delivery_id=verified.delivery_id,
            now=self.clock.now().timestamp(),
            tolerance=(WEBHOOK_TOLERANCE + self.leeway).total_seconds(),
            context_identifier=ctx,
        )

    def _decode(self, token: str, key: jwt.PyJWK, algorithm: str, ctx: str) -> dict[str, Any]:
        try:
            return self._jwt.decode(
                token, key, algorithms=[algorithm], audience=self.audience, issuer=self.issuer
            )
        except jwt.InvalidSignatureError:
            raise InvalidSignature(
                "the token's signature does not verify", context_identifier=ctx
            ) from None
        except jwt.InvalidAudienceError:
            raise WrongAudience(
                f"the token is not addressed to {self.audience!r}", context_identifier=ctx
            ) from None
        except jwt.InvalidIssuerError:
            raise WrongIssuer(
                f"the token was not issued by {self.issuer!r}", context_identifier=ctx
            ) from None
        except jwt.InvalidAlgorithmError as exc:
            raise AlgorithmNotAllowed(str(exc), context_identifier=ctx) from None
        except jwt.PyJWTError as exc:
            raise MalformedNotification(
                f"the token is not valid: {exc}", context_identifier=ctx
            ) from None

    def _check_time(self, claims: Mapping[str, Any], ctx: str) -> None:
        now = self.clock.now().timestamp()
        leeway = self.leeway.total_seconds()
        exp = _number(claims, "exp", ctx)
        if exp is not None and exp <= now - leeway:
            raise TokenExpired(f"the token expired at {_instant(exp)}", context_identifier=ctx)
        for name in ("nbf", "iat"):
            value = _number(claims, name, ctx)
            if value is not None and value > now + leeway:
                raise TokenNotYetValid(
                    f"the token's {name} is {_instant(value)}, in the future",
                    context_identifier=ctx,
                )


def _header(segment: str, token: str, ctx: str) -> dict[str, Any]:
    # Only alg and kid are read here, to pick the key; PyJWT then parses and checks the
    # whole token once (its own header parsing costs as much as the signature check).
    try:
        header = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    except (ValueError, binascii.Error):
        header = None
    if not isinstance(header, dict) or token.count(".") != 2:
        raise MalformedNotification("Token is not a JWT", context_identifier=ctx)
    return header


def _number(claims: Mapping[str, Any], name: str, ctx: str) -> float | None:
    value = claims.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise MalformedNotification(f"the token's {name} is not a number", context_identifier=ctx)
    return float(value)


def _instant(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat()


def _check_binding(claims: Mapping[str, Any], notification: StateChangeNotification) -> None:
    ctx = notification.context_identifier
    for name in ("ctx", "sub"):
        if name in claims and claims[name] != ctx:
            raise ContextMismatch(
                f"the token is for tenant {claims[name]!r}, the body for {ctx!r}",
                context_identifier=ctx,
            )
    change_type = claims["change_type"]
    if change_type != notification.change_type or isinstance(change_type, bool):
        raise ChangeTypeMismatch(
            f"the token announces change type {change_type!r}, the body {notification.change_type}",
            context_identifier=ctx,
        )
    if "file_version" in claims and claims["file_version"] != notification.file_version:
        raise FileVersionMismatch(
            f"the token carries FileVersion {claims['file_version']!r}, the body "
            f"{notification.file_version!r}",
            context_identifier=ctx,
        )
