"""A stand-in for the service's signing side: keys, a JWKS on loopback, signed notifications.

It signs exactly what the service will sign (the token contract in DESIGN.md): header
`kid` + RS256 or ES256; claims iss, aud, sub, ctx, change_type, file_version, iat, nbf,
exp, jti.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from typing import Any

import anyio
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

AUDIENCE = "app-awesome"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class Issuer:
    """Signing keys by kid, which of them the JWKS publishes, and a counter of JWKS fetches."""

    def __init__(self) -> None:
        self.url = ""  # set once served
        self.private: dict[str, Any] = {}
        self.algorithms: dict[str, str] = {}
        self.published: set[str] = set()
        self.jwks_fetches = 0
        self.jwks_status = 200
        self.jwks_delay = 0.0  # seconds the JWKS takes to answer: a slow issuer
        self.add_key("rsa-1", "RS256")
        self.add_key("ec-1", "ES256")
        self.app = Starlette(
            routes=[
                Route("/.well-known/openid-configuration", self._discovery),
                Route("/.well-known/jwks.json", self._jwks),
            ]
        )

    def add_key(self, kid: str, algorithm: str, *, publish: bool = True) -> None:
        """A new signing key (RS256: RSA 2048, ES256: P-256)."""
        if algorithm == "RS256":
            self.private[kid] = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        else:
            self.private[kid] = ec.generate_private_key(ec.SECP256R1())
        self.algorithms[kid] = algorithm
        if publish:
            self.published.add(kid)

    def public_pem(self, kid: str) -> bytes:
        """The public key of `kid` as PEM (what an HS256 forger would use as the secret)."""
        return bytes(
            self.private[kid]
            .public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        )

    def claims(
        self, ctx: str = "Cust12345", change_type: int = 0, file_version: str = "8.4.12.1234"
    ) -> dict[str, Any]:
        """The claims the service signs for a notification, valid for five minutes."""
        now = int(time.time())
        return {
            "iss": self.url,
            "aud": AUDIENCE,
            "sub": ctx,
            "ctx": ctx,
            "change_type": change_type,
            "file_version": file_version,
            "iat": now,
            "nbf": now,
            "exp": now + 300,
            "jti": str(uuid.uuid4()),
        }

    def sign(self, claims: dict[str, Any], kid: str = "rsa-1", **header: Any) -> str:
        """A JWT of `claims`, signed with `kid`'s key."""
        algorithm = header.pop("alg", self.algorithms[kid])
        return jwt.encode(
            claims, self.private[kid], algorithm=algorithm, headers={"kid": kid, **header}
        )

    def sign_hs256_with_public_key(self, claims: dict[str, Any], kid: str = "rsa-1") -> str:
        """The classic forgery: HMAC keyed with the (public) RSA key's PEM."""
        header = _b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": kid}).encode())
        payload = _b64(json.dumps(claims).encode())
        mac = hmac.new(self.public_pem(kid), f"{header}.{payload}".encode(), hashlib.sha256)
        return f"{header}.{payload}.{_b64(mac.digest())}"

    def unsigned(self, claims: dict[str, Any], kid: str = "rsa-1") -> str:
        """An `alg: none` token."""
        header = _b64(json.dumps({"alg": "none", "typ": "JWT", "kid": kid}).encode())
        return f"{header}.{_b64(json.dumps(claims).encode())}."

    def notification(
        self,
        ctx: str = "Cust12345",
        change_type: int = 0,
        *,
        token: str | None = None,
        kid: str = "rsa-1",
        **body: Any,
    ) -> dict[str, Any]:
        """A notification body as the service posts it, with a genuine token by default."""
        file_version = body.pop("FileVersion", "8.4.12.1234")
        if token is None:
            token = self.sign(self.claims(ctx, change_type, file_version), kid)
        return {
            "ChangeType": change_type,
            "ContextIdentifier": ctx,
            "VersionName": "Release 8.4 R08",
            "FileVersion": file_version,
            "Token": token,
            **body,
        }

    def jwks(self) -> dict[str, Any]:
        """The published public keys."""
        keys = []
        for kid in sorted(self.published):
            algorithm = jwt.get_algorithm_by_name(self.algorithms[kid])
            jwk = json.loads(algorithm.to_jwk(self.private[kid].public_key()))
            keys.append({**jwk, "kid": kid, "alg": self.algorithms[kid], "use": "sig"})
        return {"keys": keys}

    async def _discovery(self, request: Request) -> Response:
        return JSONResponse({"issuer": self.url, "jwks_uri": f"{self.url}/.well-known/jwks.json"})

    async def _jwks(self, request: Request) -> Response:
        self.jwks_fetches += 1
        if self.jwks_delay:
            await anyio.sleep(self.jwks_delay)
        if self.jwks_status != 200:
            return Response(status_code=self.jwks_status)
        return JSONResponse(self.jwks())
