"""The issuer's signing keys (JWKS) and the delivery ids already accepted: no I/O here.

`SigningKeys` decides when the JWKS must be (re)fetched: at first use, when a token
names a `kid` it does not hold (at most once per `refetch_interval`, so forged kids
cannot make it hammer the issuer), and when the set is older than `max_age`. The
verifier shells do the fetching.
"""

from __future__ import annotations

import enum
import json
from collections import OrderedDict
from datetime import datetime, timedelta
from typing import Any

import jwt

from tenantstatus.client.errors import KeySetUnavailable, UnknownSigningKey
from tenantstatus.clock import Clock

__all__ = ["DeliveryLog", "KeyPlan", "SigningKeys", "jwks_uri_from_discovery"]


class KeyPlan(enum.Enum):
    """What the verifier does before it can check a token's signature."""

    USE = "use"
    FETCH = "fetch"


class SigningKeys:
    """The public keys of one issuer, by `kid`."""

    def __init__(
        self,
        jwks_url: str | None,
        clock: Clock,
        *,
        refetch_interval: timedelta = timedelta(seconds=30),
        max_age: timedelta = timedelta(hours=1),
    ) -> None:
        #: None until a discovery document named it.
        self.jwks_url = jwks_url
        self.clock = clock
        self.refetch_interval = refetch_interval
        self.max_age = max_age
        self._keys: dict[str, jwt.PyJWK] = {}
        self._loaded_at: datetime | None = None
        self._attempted_at: datetime | None = None
        self._failure: KeySetUnavailable | None = None

    @property
    def key_ids(self) -> frozenset[str]:
        """The kids currently trusted."""
        return frozenset(self._keys)

    def plan(self, kid: str) -> KeyPlan:
        """Use the keys held, or fetch the set first."""
        now = self.clock.now()
        known = kid in self._keys
        if known and self._loaded_at is not None and now - self._loaded_at < self.max_age:
            return KeyPlan.USE
        if self._attempted_at is None or now - self._attempted_at >= self.refetch_interval:
            return KeyPlan.FETCH
        return KeyPlan.USE

    def attempted(self) -> None:
        """Record a fetch attempt (rate-limits the next one, whether it worked or not)."""
        self._attempted_at = self.clock.now()

    def failed(self, failure: KeySetUnavailable) -> None:
        """Record why the last fetch failed; the keys held stay in use."""
        self._failure = failure

    def load(self, document: bytes) -> None:
        """Replace the keys with a fetched JWKS document; keys PyJWT cannot use are skipped."""
        url = self.jwks_url or ""
        try:
            keys = json.loads(document)["keys"]
        except (ValueError, KeyError, TypeError) as exc:
            raise KeySetUnavailable(f"{url} is not a JWKS document: {exc}", url=url) from None
        if not isinstance(keys, list):
            raise KeySetUnavailable(f"{url} is not a JWKS document: keys is no list", url=url)
        loaded: dict[str, jwt.PyJWK] = {}
        for entry in keys:
            if not isinstance(entry, dict) or not isinstance(entry.get("kid"), str):
                continue
            if entry.get("use", "sig") != "sig":
                continue
            try:
                loaded[entry["kid"]] = jwt.PyJWK.from_dict(entry)
            except jwt.PyJWTError:
                continue  # an algorithm this PyJWT does not support: not one we trust
        self._keys = loaded
        self._loaded_at = self.clock.now()
        self._failure = None

    def key(self, kid: str, *, context_identifier: str | None = None) -> jwt.PyJWK:
        """The key with this kid; raises when the set was never loaded or lacks it."""
        found = self._keys.get(kid)
        if found is not None:
            return found
        url = self.jwks_url or "the issuer's JWKS"
        if self._loaded_at is None:
            if self._failure is not None:
                raise self._failure
            raise KeySetUnavailable(f"the signing keys at {url} could not be fetched", url=url)
        raise UnknownSigningKey(
            f"no key with kid {kid!r} in {url}", context_identifier=context_identifier
        )


def jwks_uri_from_discovery(document: bytes, issuer: str, url: str) -> str:
    """The `jwks_uri` of an OpenID discovery document, after checking its `issuer`."""
    try:
        discovery: Any = json.loads(document)
        found_issuer, jwks_uri = discovery["issuer"], discovery["jwks_uri"]
    except (ValueError, KeyError, TypeError) as exc:
        raise KeySetUnavailable(f"{url} is not a discovery document: {exc}", url=url) from None
    if found_issuer != issuer:
        raise KeySetUnavailable(
            f"{url} names issuer {found_issuer!r}, this verifier trusts {issuer!r}", url=url
        )
    if not isinstance(jwks_uri, str) or not jwks_uri.startswith(("https://", "http://")):
        raise KeySetUnavailable(f"{url} has no usable jwks_uri", url=url)
    return jwks_uri


class DeliveryLog:
    """Delivery ids already accepted, each kept until its token expires (bounded)."""

    def __init__(self, clock: Clock, max_entries: int = 100_000) -> None:
        self.clock = clock
        self.max_entries = max_entries
        self._seen: OrderedDict[str, float] = OrderedDict()

    def __len__(self) -> int:
        return len(self._seen)

    def __contains__(self, delivery_id: object) -> bool:
        return delivery_id in self._seen

    def remember(self, delivery_id: str, until: float) -> None:
        """Keep `delivery_id` until the epoch second `until`, after which its token expired."""
        seen = self._seen
        seen[delivery_id] = until
        seen.move_to_end(delivery_id)
        # Insertion order is close to expiry order: prune expired ids from the old end.
        now = self.clock.now().timestamp()
        while seen and (len(seen) > self.max_entries or next(iter(seen.values())) < now):
            seen.popitem(last=False)
