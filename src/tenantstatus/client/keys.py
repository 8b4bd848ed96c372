"""The issuer's signing keys (JWKS) and the delivery ids already accepted: no I/O here.

`SigningKeys` decides when the JWKS must be (re)fetched: at first use, at once when a
token names a `kid` it does not hold, and when the set is older than `max_age`. Each
kid causes at most one fetch per `refetch_interval`, and after a fetch that did not
find its kid (or failed) no kid causes one for `min_interval`: forged kids cannot make
it hammer the issuer, and the table of kids asked about is bounded. The verifier
shells do the fetching, one at a time: a caller that needs keys while a fetch is
under way waits for it, then plans again.
"""

from __future__ import annotations

import enum
import json
import threading
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
    #: Fetch the set first, or wait for the fetch under way and plan again.
    FETCH = "fetch"


class SigningKeys:
    """The public keys of one issuer, by `kid`."""

    def __init__(
        self,
        jwks_url: str | None,
        clock: Clock,
        *,
        refetch_interval: timedelta = timedelta(seconds=30),
        min_interval: timedelta = timedelta(seconds=1),
        max_age: timedelta = timedelta(hours=1),
        max_kids: int = 1024,
    ) -> None:
        #: None until a discovery document named it.
        self.jwks_url = jwks_url
        self.clock = clock
        self.refetch_interval = refetch_interval
        self.min_interval = min_interval
        self.max_age = max_age
        self.max_kids = max_kids
        self._keys: dict[str, jwt.PyJWK] = {}
        self._loaded_at: datetime | None = None
        # When the last fetch ended; when each kid last caused one (oldest first); the kid
        # of the fetch under way; until when a fetch that found nothing holds off others.
        self._fetched_at: datetime | None = None
        self._asked: OrderedDict[str, datetime] = OrderedDict()
        self._fetching = False
        self._fetching_for: str | None = None
        self._quiet_until: datetime | None = None
        self._failure: KeySetUnavailable | None = None

    @property
    def key_ids(self) -> frozenset[str]:
        """The kids currently trusted."""
        return frozenset(self._keys)

    def plan(self, kid: str) -> KeyPlan:
        """Use the keys held, or fetch the set first."""
        now = self.clock.now()
        loaded = self._loaded_at
        if kid in self._keys and loaded is not None and now - loaded < self.max_age:
            return KeyPlan.USE
        if self._fetching:
            return KeyPlan.FETCH
        if self._quiet_until is not None and now < self._quiet_until:
            return KeyPlan.USE
        fetched = self._fetched_at
        if kid in self._keys:  # the set is stale: refresh it now and then
            if fetched is None or now - fetched >= self.refetch_interval:
                return KeyPlan.FETCH
            return KeyPlan.USE
        asked = self._asked.get(kid)
        if asked is not None and now - asked < self.refetch_interval:
            return KeyPlan.USE
        return KeyPlan.FETCH

    def attempted(self, kid: str | None = None) -> None:
        """Record that a fetch starts, for `kid` (rate-limits its next one, worked or not).

        Until `finished`, callers that need keys wait for it rather than read a set
        that is not there yet.
        """
        self._fetching = True
        self._fetching_for = kid
        if kid is None:
            return
        asked = self._asked
        asked[kid] = self.clock.now()
        asked.move_to_end(kid)
        while len(asked) > self.max_kids:
            asked.popitem(last=False)

    def finished(self) -> None:
        """Record that the fetch under way ended, however it ended."""
        self._fetching = False
        self._fetching_for = None

    def abandoned(self, kid: str | None = None) -> None:
        """A fetch for `kid` stopped before it ended: it does not rate-limit the next one."""
        if kid is not None:
            self._asked.pop(kid, None)

    def failed(self, failure: KeySetUnavailable) -> None:
        """Record why the last fetch failed; the keys held stay in use."""
        self._failure = failure
        self._fetched_at = now = self.clock.now()
        self._quiet_until = now + self.min_interval

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
        self._loaded_at = self._fetched_at = now = self.clock.now()
        self._failure = None
        if self._fetching_for is not None and self._fetching_for not in loaded:
            self._quiet_until = now + self.min_interval

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
    """Delivery ids already accepted, each kept until its token expires (bounded).

    Safe to share between threads: the sync verifier's callers may be many.
    """

    def __init__(self, clock: Clock, max_entries: int = 100_000) -> None:
        self.clock = clock
        self.max_entries = max_entries
        self._seen: OrderedDict[str, float] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._seen)

    def __contains__(self, delivery_id: object) -> bool:
        return delivery_id in self._seen

    def remember(self, delivery_id: str, until: float) -> bool:
        """Keep `delivery_id` until the epoch second `until`; False if it was kept already."""
        now = self.clock.now().timestamp()
        seen = self._seen
        with self._lock:
            new = delivery_id not in seen
            seen[delivery_id] = until
            seen.move_to_end(delivery_id)
            # Insertion order is close to expiry order: prune expired ids from the old end.
            while seen and (len(seen) > self.max_entries or next(iter(seen.values())) < now):
                seen.popitem(last=False)
        return new
