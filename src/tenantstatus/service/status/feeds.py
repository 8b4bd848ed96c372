"""Atom feeds (RFC 4287) of state changes, planned operations and notices; pure views.

Each state change is one entry, with the same id in a tenant's feed and in the feed
of every tenant, so a reader subscribed to both sees it once. A planned operation is
an entry too, dated when it was planned. Every message of a notice (the first one and
each update) is an entry of its own, with one id wherever it shows: a host-wide notice
is the same entry in the feed of each tenant it covers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from tenantstatus.service.status.states import operation_heading
from tenantstatus.service.status.views import ChangeRow, PlannedRow
from tenantstatus.store import Notice, NoticeScope, RolloutEvent

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
    notices: Sequence[Notice] = (),
    notice_page: str | None = None,
    rollout_events: Sequence[RolloutEvent] = (),
) -> Feed:
    """A feed of `changes`, `planned` operations and the messages of `notices`, newest
    first; `notice_page` is where the notices link (a tenant's feed: its page)."""
    entries: list[tuple[datetime, FeedEntry]] = []
    for n in notices:
        entries += _notice_entries(base_url, n, notice_page)
    for event in rollout_events:
        entry = _rollout_entry(base_url, event)
        if entry is not None:
            entries.append((event.at, entry))
    for p in planned:
        page = _page(base_url, p.context_identifier)
        message = None if p.notice is None else p.notice.body
        entries.append(
            (
                p.created_at.instant,
                FeedEntry(
                    id=f"{page}#planned-{p.id}",
                    title=f"{p.context_identifier} {p.text} at {atom_instant(p.at.instant)}",
                    updated=atom_instant(p.created_at.instant),
                    link=page,
                    summary=(
                        f"Planned: {p.context_identifier} {p.text} at {p.at.text} "
                        f"({atom_instant(p.at.instant)})."
                        + ("" if message is None else f" {message.striptags()}")
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


_ROLLOUT_TITLES = {
    "start": "started",
    "pause": "paused",
    "resume": "resumed",
    "end": "ended",
    "abort": "ended: aborted",
}


def _rollout_entry(base_url: str, event: RolloutEvent) -> FeedEntry | None:
    """A rollout's start, pause, resume and end; None for the rest of its history."""
    title = _ROLLOUT_TITLES.get(event.action)
    if title is None:
        return None
    why = f" {event.detail}." if event.detail else ""
    return FeedEntry(
        id=f"{base_url}/status#rollout-{event.rollout_id}-{event.id}",
        title=f"Rollout #{event.rollout_id} {title}",
        updated=atom_instant(event.at),
        link=f"{base_url}/status#rollout-{event.rollout_id}",
        summary=f"Rollout #{event.rollout_id} {title} by {event.actor}.{why}",
        category="rollout",
    )


def _notice_entries(
    base_url: str, notice: Notice, page: str | None
) -> list[tuple[datetime, FeedEntry]]:
    """One entry for the notice's first message and one per update."""
    if notice.scope is NoticeScope.HOST:
        subject, link = str(notice.host), f"{base_url}/status"
    elif notice.context_identifier is not None:
        subject = notice.context_identifier
        link = f"{_page(base_url, subject)}#notice-{notice.id}"
    else:
        subject, link = "Several tenants", f"{base_url}/status"
    if page is not None:
        link = f"{page}#notice-{notice.id}"
    heading = "Notice" if notice.operation is None else operation_heading(notice.operation)
    until = f" Expected to end by {atom_instant(notice.until)}." if notice.until else ""
    ident = f"{base_url}/status#notice-{notice.id}"
    entries = [
        (
            notice.posted_at,
            FeedEntry(
                id=ident,
                title=f"{subject}: {heading}",
                updated=atom_instant(notice.posted_at),
                link=link,
                summary=notice.body + until,
                category="notice",
            ),
        )
    ]
    for update in notice.updates:
        entries.append(
            (
                update.posted_at,
                FeedEntry(
                    id=f"{ident}-update-{update.id}",
                    title=f"{subject}: update on {heading}",
                    updated=atom_instant(update.posted_at),
                    link=link,
                    summary=update.body,
                    category="notice-update",
                ),
            )
        )
    return entries
