"""Notices: what a person wrote about one tenant, every tenant on a host, or a list of them.

A notice is stored once, whatever it covers: a host-wide notice on 10,000 tenants is
one row, matched against each tenant's Endpoint host when that tenant is read. A list
notice keeps its list (one short row per tenant named), since the list is its content.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

__all__ = [
    "Notice",
    "NoticeDraft",
    "NoticeResolution",
    "NoticeScope",
    "NoticeUpdate",
    "endpoint_host",
]


class NoticeScope(enum.StrEnum):
    """Whom a notice covers."""

    TENANT = "tenant"  # one tenant (`context_identifier`)
    HOST = "host"  # every tenant whose Endpoint is on `host`
    TENANTS = "tenants"  # the tenants listed with it


class NoticeResolution(enum.StrEnum):
    """Why a notice is no longer current."""

    RESOLVED = "resolved"  # the operator said so
    FINISHED = "finished"  # the tenant left the state its operation put it in
    CANCELLED = "cancelled"  # its scheduled operation was cancelled
    FAILED = "failed"  # its scheduled operation was refused when its instant came


@dataclass(frozen=True, slots=True)
class NoticeDraft:
    """The message an operation carries: its text and when it is expected to end."""

    body: str
    until: datetime | None = None


@dataclass(frozen=True, slots=True)
class NoticeUpdate:
    """A later message on a notice, while it is under way."""

    id: int
    body: str
    posted_at: datetime
    posted_by: str


@dataclass(frozen=True, slots=True)
class Notice:
    """A message a person wrote, with its updates (oldest first) and its scope.

    `operation`, `scheduled_id` and `history_id` name the operation it belongs to, if
    any: `scheduled_id` while it is planned, `history_id` once it ran. `until` is the
    expected end. `context_identifiers` holds a list notice's tenants, and is filled by
    `get_notice` only (reads for one tenant leave it empty).
    """

    id: int
    scope: NoticeScope
    body: str
    posted_at: datetime
    posted_by: str
    updated_at: datetime
    until: datetime | None = None
    resolved_at: datetime | None = None
    resolution: NoticeResolution | None = None
    context_identifier: str | None = None
    host: str | None = None
    context_identifiers: tuple[str, ...] = ()
    operation: str | None = None
    scheduled_id: int | None = None
    history_id: int | None = None
    updates: tuple[NoticeUpdate, ...] = ()

    @property
    def is_open(self) -> bool:
        """Not resolved yet: planned or under way."""
        return self.resolved_at is None

    @property
    def is_planned(self) -> bool:
        """It belongs to a scheduled operation that has not run yet."""
        return self.is_open and self.scheduled_id is not None and self.history_id is None


def endpoint_host(endpoint: str) -> str:
    """The host of an Endpoint, lower case and without a port: `sod2.example.com`."""
    return (urlsplit(endpoint).hostname or "").lower()
