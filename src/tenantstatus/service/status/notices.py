"""Notices for people: a timeline per notice, and its text as escaped HTML with links.

Pure: it takes the notices the store read and returns frozen views. A message is plain
text; `linkify` escapes all of it and turns only http(s) URLs into links, so no text
a person wrote is ever markup.

    >>> linkify("see https://example.com/a?b=1&c=<x>.")
    Markup('see <a href="https://example.com/a?b=1&amp;c=" rel="nofollow noopener noreferrer">...
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from markupsafe import Markup, escape

from tenantstatus.lifecycle import Activity, Tenant
from tenantstatus.service.status.states import operation_heading
from tenantstatus.service.status.zones import Moment, ReaderZone
from tenantstatus.store import Notice, NoticeResolution, NoticeScope

__all__ = ["NoticeView", "TimelineEntry", "linkify", "notice_view", "notice_views"]

# Stops at whitespace, quotes, angle brackets and backticks: what ends a URL in prose.
_URL = re.compile(r"\bhttps?://[^\s<>\"'`]+", re.IGNORECASE)
_TRAILING = ".,;:!?'\")]}"
_LINK = Markup('<a href="{0}" rel="nofollow noopener noreferrer">{0}</a>')


def _trim(url: str) -> str:
    """Drop punctuation that ends the sentence rather than the URL."""
    while url and url[-1] in _TRAILING:
        if url[-1] == ")" and url.count("(") >= url.count(")"):
            break
        url = url[:-1]
    return url


def _has_host(url: str) -> bool:
    try:
        return bool(urlsplit(url).hostname)
    except ValueError:  # "http://[x": an unclosed IPv6 literal is prose, not a link
        return False


def linkify(text: str) -> Markup:
    """`text` escaped, with each http(s) URL in it a link (also escaped)."""
    parts: list[Markup] = []
    last = 0
    for match in _URL.finditer(text):
        url = _trim(match.group(0))
        if not _has_host(url):
            continue
        start = match.start()
        parts.append(escape(text[last:start]))
        parts.append(_LINK.format(url))
        last = start + len(url)
    parts.append(escape(text[last:]))
    return Markup("").join(parts)


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    """One message of a notice: the first one, an update, or the resolution."""

    at: Moment
    label: str
    body: Markup | None


@dataclass(frozen=True, slots=True)
class NoticeView:
    """A notice as the page shows it, its timeline newest first."""

    id: int
    heading: str
    covers: str
    status: str
    planned: bool
    is_open: bool
    operation: str | None
    scheduled_id: int | None
    until: Moment | None
    timeline: tuple[TimelineEntry, ...]

    @property
    def body(self) -> Markup | None:
        """The first message."""
        return self.timeline[-1].body if self.timeline else None


def _covers(notice: Notice, for_operator: bool) -> str:
    if notice.scope is NoticeScope.HOST:
        if for_operator:
            return f"Every tenant on {notice.host}"
        return "This tenant and every other tenant on that host"
    if notice.scope is NoticeScope.TENANTS:
        return "A list of tenants" if for_operator else "Several tenants, this one among them"
    return str(notice.context_identifier) if for_operator else "This tenant"


def _heading(notice: Notice, version: str | None) -> str:
    if notice.operation is not None:
        return operation_heading(notice.operation, version)
    if notice.scope is NoticeScope.HOST:
        return f"Notice for every tenant on {notice.host}"
    return "Notice"


_RESOLVED = {
    NoticeResolution.RESOLVED: "Resolved",
    NoticeResolution.FINISHED: "Finished",
    NoticeResolution.CANCELLED: "Cancelled",
    NoticeResolution.FAILED: "Did not run",
}


def notice_view(
    notice: Notice,
    zone: ReaderZone,
    *,
    tenant: Tenant | None = None,
    version: str | None = None,
    for_operator: bool = False,
) -> NoticeView:
    """One notice; `version` names the version of an upgrade it belongs to. A tenant's
    page says whom it covers from that tenant's side, the overview `for_operator`."""
    upgrading = tenant is not None and tenant.activity is Activity.UPGRADING
    if version is None and upgrading and notice.operation == "upgrade" and notice.is_open:
        version = tenant.pending_version_name if tenant is not None else None
    entries = [TimelineEntry(Moment(notice.posted_at, zone), "Posted", linkify(notice.body))]
    entries += [
        TimelineEntry(Moment(u.posted_at, zone), "Update", linkify(u.body)) for u in notice.updates
    ]
    if notice.resolved_at is not None and notice.resolution is not None:
        entries.append(
            TimelineEntry(Moment(notice.resolved_at, zone), _RESOLVED[notice.resolution], None)
        )
    entries.sort(key=lambda e: e.at.instant, reverse=True)
    if notice.is_planned:
        status = "Planned"
    elif notice.is_open:
        status = "Under way"
    else:
        status = _RESOLVED[notice.resolution or NoticeResolution.RESOLVED]
    return NoticeView(
        id=notice.id,
        heading=_heading(notice, version),
        covers=_covers(notice, for_operator),
        status=status,
        planned=notice.is_planned,
        is_open=notice.is_open,
        operation=notice.operation,
        scheduled_id=notice.scheduled_id,
        until=None if notice.until is None else Moment(notice.until, zone),
        timeline=tuple(entries),
    )


def notice_views(
    notices: Sequence[Notice],
    zone: ReaderZone,
    *,
    tenant: Tenant | None = None,
    for_operator: bool = False,
) -> list[NoticeView]:
    """Views of `notices`, in the order given."""
    return [notice_view(n, zone, tenant=tenant, for_operator=for_operator) for n in notices]
