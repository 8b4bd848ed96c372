"""The pull client's sans-I/O core: what to ask the state API, and what an answer means.

`StatusCache` does no I/O. The shells (`TenantStatusClient`, `AsyncTenantStatusClient`)
ask it for a fresh answer, and when there is none, for the request to send; they send
it and hand back the response. The cache decides freshness (ValidUntil, measured on
the service's clock), revalidation (ETag / If-None-Match / 304), the stale fallback
when the service is unreachable, and the LRU bound.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

from tenantstatus.client.errors import StatusUnavailable, UnexpectedResponse
from tenantstatus.client.policy import CachePolicy
from tenantstatus.clock import Clock
from tenantstatus.model import (
    TenantStatus,
    VersionInfo,
    WireFormatError,
    is_valid_context_identifier,
)

__all__ = [
    "PulledStatus",
    "StateRequest",
    "StatusCache",
    "is_retryable",
    "retry_after",
    "version_from",
]

_MAX_AGE = re.compile(r"(?:^|[,\s])max-age\s*=\s*(\d+)", re.IGNORECASE)
_EXPIRED = datetime.min.replace(tzinfo=UTC)
_REVALIDATE_ALWAYS = frozenset({"no-store", "no-cache"})


@dataclass(frozen=True, slots=True)
class PulledStatus(TenantStatus):
    """A state answer as the client holds it.

    `stale` is True when the state API could not be reached and this is the last
    answer it gave; `fetched_at` is when the service last confirmed it.
    """

    stale: bool = False
    fetched_at: datetime | None = None


@dataclass(slots=True)
class _Entry:
    status: PulledStatus
    etag: str | None
    fresh_until: datetime
    stale_until: datetime
    version: VersionInfo | None = None
    version_key: tuple[str, str | None] = field(default=("", None))


@dataclass(frozen=True, slots=True)
class StateRequest:
    """A GET the shell sends to the state API."""

    context_identifier: str
    url: str
    headers: Mapping[str, str]
    #: The cached entry the request revalidates (kept in case it is evicted meanwhile).
    revalidates: _Entry | None = field(default=None, repr=False, compare=False)


def is_retryable(status_code: int) -> bool:
    """True for answers worth retrying: 5xx and 429 Too Many Requests."""
    return status_code >= 500 or status_code == 429


def version_from(url: str, status_code: int, body: bytes) -> VersionInfo:
    """Parse the installation's answer to `GET {Api}`; anything but a 200 document raises."""
    if status_code != 200:
        raise UnexpectedResponse(
            f"the API version document at {url} answered {status_code}",
            url=url,
            status_code=status_code,
        )
    try:
        return VersionInfo.from_json(body)
    except WireFormatError as exc:
        raise UnexpectedResponse(
            f"{url} is not an API version document: {exc}", url=url, status_code=status_code
        ) from None


def retry_after(headers: Mapping[str, str]) -> float | None:
    """The `Retry-After` header in seconds (delta form only), or None."""
    value = headers.get("retry-after")
    if value is None or not value.strip().isdigit():
        return None
    return float(value.strip())


class StatusCache:
    """Answers by ContextIdentifier, bounded LRU, with the rules for when to ask again."""

    def __init__(self, base_url: str, policy: CachePolicy, clock: Clock) -> None:
        self.base_url = base_url.rstrip("/")
        self.policy = policy
        self.clock = clock
        self._entries: OrderedDict[str, _Entry] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, context_identifier: object) -> bool:
        return context_identifier in self._entries

    # --- the hot path -------------------------------------------------------------------

    def fresh(self, context_identifier: str) -> PulledStatus | None:
        """The cached answer while it is fresh, else None (the shell then pulls)."""
        entry = self._entries.get(context_identifier)
        if entry is None or self.clock.now() >= entry.fresh_until:
            return None
        try:  # noqa: SIM105 - contextlib.suppress costs more on the hot path
            self._entries.move_to_end(context_identifier)
        except KeyError:  # evicted by another thread meanwhile
            pass
        return entry.status

    # --- pulling ------------------------------------------------------------------------

    def request(self, context_identifier: str) -> StateRequest:
        """The GET to send, conditional when an ETag is known."""
        if not is_valid_context_identifier(context_identifier):
            raise ValueError(f"{context_identifier!r} is not a ContextIdentifier")
        headers = {"Accept": "application/json"}
        entry = self._entries.get(context_identifier)
        if entry is not None and entry.etag is not None:
            headers["If-None-Match"] = entry.etag
        url = f"{self.base_url}/api/state/{context_identifier}"
        return StateRequest(context_identifier, url, headers, entry)

    def accept(
        self, request: StateRequest, status_code: int, headers: Mapping[str, str], body: bytes
    ) -> PulledStatus:
        """Take a non-retryable answer (200 or 304) into the cache and return the status."""
        now = self.clock.now()
        ctx = request.context_identifier
        entry = self._entries.get(ctx) or request.revalidates
        if status_code == 304 and entry is not None:
            lifetime = self._lifetime(headers, None, now)
            server_now = _server_now(headers) or now
            status = replace(
                entry.status,
                valid_until=server_now + lifetime,
                valid_until_ticks=0,
                stale=False,
                fetched_at=now,
            )
            self._store(ctx, replace(entry, status=status), lifetime, now)
            return status
        if status_code != 200:
            raise UnexpectedResponse(
                f"the state API answered {status_code} for {ctx}",
                url=request.url,
                status_code=status_code,
            )
        try:
            parsed = TenantStatus.from_json(body)
        except WireFormatError as exc:
            raise UnexpectedResponse(
                f"the state API's answer for {ctx} is not a state document: {exc}",
                url=request.url,
                status_code=status_code,
            ) from None
        if parsed.context_identifier != ctx:
            raise UnexpectedResponse(
                f"asked for {ctx}, the state API answered for {parsed.context_identifier}",
                url=request.url,
                status_code=status_code,
            )
        status = PulledStatus(
            **{name: getattr(parsed, name) for name in _STATUS_FIELDS}, fetched_at=now
        )
        lifetime = self._lifetime(headers, status.valid_until, now)
        new_entry = _Entry(status, headers.get("etag"), now, now)
        key = (status.api, status.version)
        if entry is not None and status.version is not None and entry.version_key == key:
            new_entry.version, new_entry.version_key = entry.version, key
        self._store(ctx, new_entry, lifetime, now)
        return status

    def fail(self, context_identifier: str, error: StatusUnavailable) -> PulledStatus:
        """After the pull failed: the last answer marked stale, if not too old; else raise."""
        now = self.clock.now()
        entry = self._entries.get(context_identifier)
        if entry is None or now > entry.stale_until:
            raise error
        if not entry.status.stale:
            entry.status = replace(entry.status, stale=True)
        # Hold the stale answer a moment, so a dead service is not asked on every call.
        entry.fresh_until = min(now + self.policy.failure_hold, entry.stale_until)
        return entry.status

    # --- the version document -----------------------------------------------------------

    def version(self, status: TenantStatus) -> VersionInfo | None:
        """The cached version document for this answer, if it still matches it."""
        entry = self._entries.get(status.context_identifier)
        if entry is None or entry.version_key != (status.api, status.version):
            return None
        return entry.version

    def store_version(self, status: TenantStatus, version: VersionInfo) -> None:
        """Keep the version document until the answer's Api or Version changes."""
        entry = self._entries.get(status.context_identifier)
        if entry is not None:
            entry.version, entry.version_key = version, (status.api, status.version)

    # --- invalidation -------------------------------------------------------------------

    def invalidate(self, context_identifier: str) -> None:
        """Make the next lookup ask the service (the ETag and stale fallback stay)."""
        entry = self._entries.get(context_identifier)
        if entry is not None:
            entry.fresh_until = _EXPIRED

    def forget(self, context_identifier: str) -> None:
        """Drop everything known about the tenant."""
        self._entries.pop(context_identifier, None)

    # --- internals ----------------------------------------------------------------------

    def _lifetime(
        self, headers: Mapping[str, str], valid_until: datetime | None, now: datetime
    ) -> timedelta:
        if _must_revalidate(headers):
            return timedelta(0)
        candidates = []
        max_age = _max_age(headers)
        if max_age is not None:
            candidates.append(max_age)
        if valid_until is not None:
            server_now = _server_now(headers)
            if server_now is None:
                candidates.append(valid_until - now)
            else:
                candidates.append(valid_until - server_now - self.policy.skew_margin)
        lifetime = min(candidates, default=timedelta(0))
        return max(timedelta(0), min(lifetime, self.policy.max_lifetime))

    def _store(self, ctx: str, entry: _Entry, lifetime: timedelta, now: datetime) -> None:
        entry.fresh_until = now + lifetime
        entry.stale_until = entry.fresh_until + self.policy.max_stale
        self._entries[ctx] = entry
        self._entries.move_to_end(ctx)
        while len(self._entries) > self.policy.max_entries:
            self._entries.popitem(last=False)


_STATUS_FIELDS = tuple(f.name for f in fields(TenantStatus))


def _max_age(headers: Mapping[str, str]) -> timedelta | None:
    match = _MAX_AGE.search(headers.get("cache-control", ""))
    return None if match is None else timedelta(seconds=int(match[1]))


def _must_revalidate(headers: Mapping[str, str]) -> bool:
    directives = headers.get("cache-control", "").lower().replace(" ", "").split(",")
    return not _REVALIDATE_ALWAYS.isdisjoint(directives)


def _server_now(headers: Mapping[str, str]) -> datetime | None:
    value = headers.get("date")
    if value is None:
        return None
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return parsed.astimezone(UTC) if parsed.tzinfo is not None else None
