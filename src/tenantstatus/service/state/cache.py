"""The state API's answers, pre-serialised in memory.

Each tenant's answer is kept as two byte strings around `ValidUntil`, so serving a
request is a dictionary lookup and a join: no database, no JSON encoder.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Iterable
from datetime import UTC, datetime

from tenantstatus.lifecycle import Tenant, api_of
from tenantstatus.model import TenantState, format_instant

__all__ = ["Answer", "StateCache", "ValidityClock", "release_label"]

_UNKNOWN = TenantState.Unknown
_STATES = {int(state): state for state in TenantState}
_STATE_PART = {
    state: b',"State":"%s","IsRunning":%s,"ValidUntil":"'
    % (state.name.encode(), b"true" if state.is_running else b"false")
    for state in TenantState
}


# Strings with nothing JSON must escape: most ids, URLs and labels. Quoting them by hand
# is several times faster than json.dumps, which matters when a million load at start.
_PLAIN = re.compile(r'[^"\\\x00-\x1f\x7f-\uffff]*')


def _json_str(value: str) -> bytes:
    if _PLAIN.fullmatch(value):
        return b'"' + value.encode() + b'"'
    return json.dumps(value, ensure_ascii=False).encode()


def release_label(version_document: str) -> str | None:
    """`NetServerLabel` of a version document given as JSON text, or None."""
    if "NetServerLabel" not in version_document:
        return None
    label = json.loads(version_document).get("NetServerLabel")
    return label if isinstance(label, str) and label else None


class ValidityClock:
    """Stamps `ValidUntil`, formatting `now + ttl` at most once per second."""

    __slots__ = ("_second", "_stamp", "ttl")

    def __init__(self, ttl: int) -> None:
        self.ttl = ttl
        self._second = -1
        self._stamp: tuple[bytes, int] = (b"", 0)

    def stamp(self, not_after: float | None = None) -> tuple[bytes, int]:
        """The `ValidUntil` text and the matching max-age in seconds."""
        now = time.time()
        if not_after is not None and not_after < now + self.ttl:
            return self._format(max(not_after, now)), max(0, int(not_after - now))
        second = int(now)
        if second != self._second:
            self._second = second
            self._stamp = (self._format(second + self.ttl), self.ttl)
        return self._stamp

    @staticmethod
    def _format(epoch: float) -> bytes:
        return format_instant(datetime.fromtimestamp(epoch, UTC)).encode()


class Answer:
    """One tenant's serialised answer, split around `ValidUntil`."""

    __slots__ = ("etag", "head", "not_after", "state", "tail")

    def __init__(
        self,
        state: TenantState,
        head: bytes,
        tail: bytes,
        etag: bytes,
        not_after: float | None,
    ) -> None:
        self.state = state
        self.head = head
        self.tail = tail
        self.etag = etag
        self.not_after = not_after

    @classmethod
    def build(
        cls,
        context_identifier: str,
        endpoint: str,
        state: TenantState,
        api: str,
        version: str | None,
        not_after: float | None = None,
    ) -> Answer:
        """Serialise the answer in the spec's exact key order."""
        head = b"".join(
            (
                b'{"ContextIdentifier":',
                _json_str(context_identifier),
                b',"Endpoint":',
                _json_str(endpoint),
                _STATE_PART[state],
            )
        )
        if version is None:
            tail = b'","Api":' + _json_str(api) + b"}"
        else:
            tail = b'","Api":' + _json_str(api) + b',"Version":' + _json_str(version) + b"}"
        digest = hashlib.blake2b(head + tail, digest_size=10).hexdigest()
        return cls(state, head, tail, f'W/"{digest}"'.encode(), not_after)

    @classmethod
    def for_tenant(cls, tenant: Tenant, not_after: float | None = None) -> Answer:
        """The answer for a known tenant."""
        return cls.build(
            tenant.context_identifier,
            tenant.endpoint,
            tenant.state,
            tenant.api,
            tenant.release_label,
            not_after,
        )

    @classmethod
    def unknown(cls, context_identifier: str) -> Answer:
        """The answer for a tenant this service does not know."""
        return cls.build(context_identifier, "", _UNKNOWN, "", None)


class StateCache:
    """Every tenant's answer, by ContextIdentifier."""

    def __init__(self) -> None:
        self._answers: dict[str, Answer] = {}
        # Kept up to date on every store, so counting costs nothing at a million tenants.
        self._counts: dict[TenantState, int] = {}

    def _store(self, context_identifier: str, answer: Answer) -> None:
        previous = self._answers.get(context_identifier)
        if previous is not None:
            self._counts[previous.state] -= 1
        self._answers[context_identifier] = answer
        self._counts[answer.state] = self._counts.get(answer.state, 0) + 1

    def __len__(self) -> int:
        return len(self._answers)

    def get(self, context_identifier: str) -> Answer | None:
        """The answer, or None for an unknown tenant."""
        return self._answers.get(context_identifier)

    def put(self, tenant: Tenant, next_scheduled: datetime | None = None) -> None:
        """Store the tenant's answer, capped at its next scheduled operation."""
        not_after = None if next_scheduled is None else next_scheduled.timestamp()
        self._store(tenant.context_identifier, Answer.for_tenant(tenant, not_after))

    def load_summaries(
        self,
        rows: Iterable[tuple[str, str, int, str]],
        next_scheduled: dict[str, datetime] | None = None,
    ) -> None:
        """Store answers from (ContextIdentifier, Endpoint, state code, version JSON) rows."""
        upcoming = next_scheduled or {}
        store = self._store
        states = _STATES
        for ctx, endpoint, code, document in rows:
            instant = upcoming.get(ctx)
            answer = Answer.build(
                ctx,
                endpoint,
                states[code],
                api_of(endpoint),
                release_label(document),
                None if instant is None else instant.timestamp(),
            )
            store(ctx, answer)

    def set_next_scheduled(self, context_identifier: str, instant: datetime | None) -> None:
        """Cap (or uncap) a tenant's `ValidUntil` at its next scheduled operation."""
        answer = self._answers.get(context_identifier)
        if answer is not None:
            answer.not_after = None if instant is None else instant.timestamp()

    def capped(self) -> list[str]:
        """The tenants whose `ValidUntil` is capped by a scheduled operation."""
        return [ctx for ctx, answer in self._answers.items() if answer.not_after is not None]

    def counts_by_state(self) -> dict[TenantState, int]:
        """How many cached tenants are in each state."""
        return {state: n for state, n in self._counts.items() if n}
