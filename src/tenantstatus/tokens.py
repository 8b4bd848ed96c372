"""Notification tokens: signing keys, the claims that bind a token to one notification, JWKS.

Shared by both halves: the service signs with a `SigningKeyRing`, the client verifies
against the JWKS the ring publishes.

    >>> ring = SigningKeyRing([SigningKey.generate("RS256")])
    >>> token = ring.sign(notification_claims(issuer=..., audience="app_1", ...))
    >>> ring.jwks()["keys"][0]["kid"] == ring.active.kid
    True
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

__all__ = [
    "ALGORITHMS",
    "TEST_CLAIM",
    "TOKEN_LIFETIME",
    "Algorithm",
    "SigningKey",
    "SigningKeyRing",
    "notification_claims",
]

Algorithm = Literal["RS256", "ES256"]
ALGORITHMS: tuple[Algorithm, ...] = ("RS256", "ES256")
TOKEN_LIFETIME = timedelta(minutes=5)
#: The claim that marks a test notification (`"test": true`): signed, so it can be
#: neither forged onto a real notification nor stripped from a test one.
TEST_CLAIM = "test"
# Other nodes may sign with a retired key until they reload the ring (every 30 s).
PUBLISH_GRACE = timedelta(minutes=2)

_PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


def _kid(public_jwk: Mapping[str, Any]) -> str:
    """RFC 7638 thumbprint: the same key always gets the same id."""
    required = ("crv", "kty", "x", "y") if public_jwk["kty"] == "EC" else ("e", "kty", "n")
    canonical = json.dumps({k: public_jwk[k] for k in required}, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class SigningKey:
    """One private signing key with its `kid` and algorithm."""

    kid: str
    algorithm: Algorithm
    private_key: _PrivateKey
    created_at: datetime | None = None
    retired_at: datetime | None = None
    #: When it starts signing; None: from `created_at`. Published from `created_at` on.
    signs_from: datetime | None = None

    @property
    def starts_signing(self) -> datetime | None:
        """When this key signs from: `signs_from`, else `created_at`."""
        return self.signs_from or self.created_at

    @classmethod
    def generate(cls, algorithm: Algorithm, *, now: datetime | None = None) -> SigningKey:
        """A fresh key: RSA 2048 for RS256, P-256 for ES256."""
        private_key: _PrivateKey
        if algorithm == "RS256":
            private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        elif algorithm == "ES256":
            private_key = ec.generate_private_key(ec.SECP256R1())
        else:
            raise ValueError(f"unsupported signing algorithm {algorithm!r}; use RS256 or ES256")
        return cls.from_private_key(private_key, algorithm, created_at=now)

    @classmethod
    def from_private_key(
        cls,
        private_key: _PrivateKey,
        algorithm: Algorithm,
        *,
        created_at: datetime | None = None,
        retired_at: datetime | None = None,
        signs_from: datetime | None = None,
    ) -> SigningKey:
        """Wrap an existing key; its `kid` is derived from the public key."""
        jwk = _public_jwk(private_key, algorithm)
        return cls(_kid(jwk), algorithm, private_key, created_at, retired_at, signs_from)

    @classmethod
    def from_pem(
        cls,
        pem: bytes,
        algorithm: Algorithm,
        *,
        created_at: datetime | None = None,
        retired_at: datetime | None = None,
        signs_from: datetime | None = None,
    ) -> SigningKey:
        """Load a PKCS#8 PEM private key."""
        key = serialization.load_pem_private_key(pem, password=None)
        if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
            raise ValueError("only RSA and EC signing keys are supported")
        return cls.from_private_key(
            key, algorithm, created_at=created_at, retired_at=retired_at, signs_from=signs_from
        )

    def private_pem(self) -> bytes:
        """The private key as PKCS#8 PEM. Encrypt it before it is stored."""
        return self.private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )

    def public_jwk(self) -> dict[str, Any]:
        """The public key as a JWK with `kid`, `alg` and `use`."""
        return {**_public_jwk(self.private_key, self.algorithm), "kid": self.kid}


def _public_jwk(private_key: _PrivateKey, algorithm: Algorithm) -> dict[str, Any]:
    public = private_key.public_key()
    if isinstance(public, rsa.RSAPublicKey):
        jwk = RSAAlgorithm.to_jwk(public, as_dict=True)
    else:
        jwk = ECAlgorithm.to_jwk(public, as_dict=True)
    return {**jwk, "alg": algorithm, "use": "sig"}


class SigningKeyRing:
    """One key signs at a time; the others stay published around it.

    Rotation is two-phase: a new key is published at once but signs only from its
    `signs_from`, and the key before it retires at that instant (`retired_at`), then
    stays published until its last token expires. Given `now`, the ring signs with the
    key whose span `[signs_from, retired_at)` holds `now`; without it, with the newest.
    """

    def __init__(self, keys: Iterable[SigningKey], *, now: datetime | None = None) -> None:
        ordered = sorted(keys, key=_signing_order)
        newest = [k for k in ordered if k.retired_at is None]
        if not newest:
            raise ValueError("a key ring needs one active key")
        self.active = newest[-1]
        #: When another key takes over from `active`; None when no change is planned.
        self.changes_at: datetime | None = None
        if now is not None:
            signing = [k for k in ordered if _signs_at(k, now)]
            # None signs (a clock behind the one that rotated): the newest key is safest.
            self.active = signing[-1] if signing else newest[-1]
            changes = [s for k in ordered if (s := k.starts_signing) is not None and s > now]
            if self.active.retired_at is not None and self.active.retired_at > now:
                changes.append(self.active.retired_at)
            self.changes_at = min(changes, default=None)
        self._published = ordered

    @property
    def keys(self) -> tuple[SigningKey, ...]:
        """Every key in the ring, by when it signs: the newest (maybe not signing yet) last."""
        return tuple(self._published)

    def sign(self, claims: Mapping[str, Any]) -> str:
        """A compact JWS of `claims` with the active key, `kid` in the header."""
        key = self.active
        return jwt.encode(
            dict(claims), key.private_key, algorithm=key.algorithm, headers={"kid": key.kid}
        )

    def jwks(self, *, now: datetime | None = None) -> dict[str, list[dict[str, Any]]]:
        """The public keys that verify tokens still valid at `now`."""
        published = [
            key.public_jwk()
            for key in self._published
            if key.retired_at is None
            or now is None
            or key.retired_at + TOKEN_LIFETIME + PUBLISH_GRACE > now
        ]
        return {"keys": published}


def _signing_order(key: SigningKey) -> tuple[float, float]:
    # By when its span begins; a key retired before it could sign, by when it retired.
    start, retired, created = key.starts_signing, key.retired_at, key.created_at
    begins = min(start, retired) if start is not None and retired is not None else start
    return (
        begins.timestamp() if begins is not None else 0.0,
        created.timestamp() if created is not None else 0.0,
    )


def _signs_at(key: SigningKey, now: datetime) -> bool:
    start = key.starts_signing
    return (start is None or start <= now) and (key.retired_at is None or key.retired_at > now)


def notification_claims(
    *,
    issuer: str,
    audience: str,
    context_identifier: str,
    change_type: int,
    file_version: str,
    delivery_id: str,
    now: datetime,
    lifetime: timedelta = TOKEN_LIFETIME,
    test: bool = False,
) -> dict[str, Any]:
    """The claims that bind a token to one notification for one application."""
    issued = int(now.timestamp())
    claims: dict[str, Any] = {
        "iss": issuer,
        "aud": audience,
        "sub": context_identifier,
        "ctx": context_identifier,
        "change_type": change_type,
        "file_version": file_version,
        "iat": issued,
        "nbf": issued,
        "exp": issued + int(lifetime.total_seconds()),
        "jti": delivery_id,
    }
    if test:
        claims[TEST_CLAIM] = True
    return claims
