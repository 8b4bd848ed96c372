"""Atom feeds (RFC 4287) of state changes and planned operations; pure view models.

Each state change is one entry, with the same id in a tenant's feed and in the feed
of every tenant, so a reader subscribed to both sees it once. A planned operation is
an entry too, dated when it was planned.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from tenantstatus.service.status.views import ChangeRow, PlannedRow

__all__ = ["Feed", "FeedEntry", "atom_instant", "build_feed"]


def atom_instant(instant: datetime) -> str:
    """RFC 3339 in UTC, e.g. `2026-11-25T21:04:05Z`."""
    return f"{instant.astimezone(UTC):%Y-%m-%dT%H:%M:%SZ}"


@dataclass(frozen=True, slots=True)
class FeedEntry:
    """One `<entry>`."""

    id: str
    title: str
    updated: str
    link: str
    summary: str
    category: str


@dataclass(frozen=True, slots=True)
class Feed:
    """One `<feed>`."""

    id: str
    title: str
    subtitle: str
    updated: str
    self_url: str
    alternate_url: str
    entries: Sequence[FeedEntry]


def _page(base_url: str, ctx: str) -> str:
    return f"{base_url}/status/{ctx}"


def build_feed(
    *,
    title: str,
    subtitle: str,
    self_url: str,
    alternate_url: str,
    base_url: str,
    changes: Sequence[ChangeRow],
    planned: Sequence[PlannedRow],
    now: datetime,
) -> Feed:
    """A feed of `changes` (newest first) after the `planned` operations."""
    entries: list[tuple[datetime, FeedEntry]] = []
    for p in planned:
        page = _page(base_url, p.context_identifier)
        entries.append(
            (
                p.created_at.instant,
                FeedEntry(
                    id=f"{page}#planned-{p.id}",
                    title=(
                        f"{p.context_identifier}: {p.text} planned for {atom_instant(p.at.instant)}"
                    ),
                    updated=atom_instant(p.created_at.instant),
                    link=page,
                    summary=(
                        f"{p.text} of {p.context_identifier} is planned for "
                        f"{p.at.text} ({atom_instant(p.at.instant)})."
                    ),
                    category="planned",
                ),
            )
        )
    for c in changes:
        page = _page(base_url, c.context_identifier)
        entries.append(
            (
                c.at.instant,
                FeedEntry(
                    id=f"{page}#change-{c.id}",
                    title=c.title,
                    updated=atom_instant(c.at.instant),
                    link=page,
                    summary=f"{c.to_state.label}: {c.to_state.meaning}",
                    category=c.to_state.name,
                ),
            )
        )
    entries.sort(key=lambda item: item[0], reverse=True)
    newest = entries[0][0] if entries else now
    return Feed(
        id=self_url,
        title=title,
        subtitle=subtitle,
        updated=atom_instant(newest),
        self_url=self_url,
        alternate_url=alternate_url,
        entries=[entry for _, entry in entries],
    )
