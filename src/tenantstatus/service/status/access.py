"""Who may see the overview: everyone, or the operator only (by configuration).

A browser cannot send a bearer token from the address bar, so the operator may also
log in with HTTP Basic: any user name, the operator token as the password.
"""

from __future__ import annotations

import base64
import binascii

from starlette.requests import Request

from tenantstatus.service.auth import OperatorAuth
from tenantstatus.service.services import services_of

__all__ = ["BASIC_CHALLENGE", "is_operator"]

BASIC_CHALLENGE = 'Basic realm="tenantstatus operator", charset="UTF-8"'


def _basic_password(authorization: str) -> str | None:
    scheme, _, encoded = authorization.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    _, sep, password = decoded.partition(":")
    return password if sep else None


def is_operator(request: Request) -> bool:
    """True when the request carries the operator token (Bearer, or Basic's password)."""
    auth: OperatorAuth | None = services_of(request).operator_auth
    authorization = request.headers.get("authorization")
    if auth is None or not authorization:
        return False
    if auth.verify(authorization):
        return True
    password = _basic_password(authorization)
    return password is not None and auth.verify(f"Bearer {password}")
