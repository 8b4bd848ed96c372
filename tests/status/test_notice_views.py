"""Messages as the page shows them: escaped text with links, and their timelines."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta

from hypothesis import example, given
from hypothesis import strategies as st

from tenantstatus.lifecycle import Activity, Tenant
from tenantstatus.model import TenantState
from tenantstatus.service.status.notices import linkify, notice_view
from tenantstatus.service.status.planning import runnable
from tenantstatus.service.status.states import describe_plan
from tenantstatus.service.status.zones import ReaderZone
from tenantstatus.store import (
    Notice,
    NoticeResolution,
    NoticeScope,
    NoticeUpdate,
    ScheduledOperation,
    ScheduleStatus,
)

NOW = datetime(2026, 11, 25, 12, tzinfo=UTC)
_ANCHOR = re.compile(r'<a href="([^"<>]*)" rel="nofollow noopener noreferrer">([^<>]*)</a>')
PIECES = st.sampled_from(
    ["https://", "http://h.example/", "<script>", "</a>", '"', "'", "&amp;", " ", "\n",
     ").", "(x)", "javascript:alert(1)", "https://e.com/a(b)", "<img onerror=x>"]
)  # fmt: skip


@given(st.lists(st.one_of(PIECES, st.text(max_size=8)), max_size=12).map("".join))
@example("down? see http://[fe80::1 and https://[::1]/ok")  # urlsplit raises on the first
def test_linkify_escapes_everything_and_only_adds_links_to_the_text(text: str) -> None:
    rendered = str(linkify(text))
    links = _ANCHOR.findall(rendered)
    for href, label in links:
        assert href == label and re.match(r"(?i)https?://", html.unescape(href))
    bare = _ANCHOR.sub(lambda m: m.group(2), rendered)
    assert "<" not in bare and ">" not in bare
    assert html.unescape(bare) == text


def test_links_end_where_the_sentence_does() -> None:
    rendered = str(linkify("See https://e.com/x?a=1&b=2. Or (https://e.com/y), https://e.com/z(1)"))
    hrefs = [href for href, _ in _ANCHOR.findall(rendered)]
    assert hrefs == ["https://e.com/x?a=1&amp;b=2", "https://e.com/y", "https://e.com/z(1)"]
    assert str(linkify("javascript:alert(1) and ftp://e.com")) == (
        "javascript:alert(1) and ftp://e.com"
    )


def notice(**fields: object) -> Notice:
    values: dict[str, object] = {
        "id": 1, "scope": NoticeScope.TENANT, "body": "Upgrading", "posted_at": NOW,
        "posted_by": "op", "updated_at": NOW, "context_identifier": "Cust1",
    }  # fmt: skip
    values.update(fields)
    return Notice(**values)  # type: ignore[arg-type]


def test_a_timeline_is_newest_first_and_ends_with_its_resolution() -> None:
    zone = ReaderZone.utc()
    updates = tuple(
        NoticeUpdate(i, f"update {i}", NOW + timedelta(minutes=i), "op") for i in (1, 2)
    )
    tenant = Tenant(
        "Cust1", "https://h/Cust1", TenantState.OfflineMaintenance, NOW, NOW,
        activity=Activity.UPGRADING, pending_version_name="Release 11.12",
    )  # fmt: skip
    view = notice_view(
        notice(operation="upgrade", history_id=3, updates=updates), zone, tenant=tenant
    )
    assert view.heading == "Upgrade to Release 11.12" and view.status == "Under way"
    assert [e.label for e in view.timeline] == ["Update", "Update", "Posted"]
    assert str(view.body) == "Upgrading"
    done = notice_view(
        notice(resolved_at=NOW + timedelta(hours=1), resolution=NoticeResolution.RESOLVED),
        zone,
    )
    assert [e.label for e in done.timeline] == ["Resolved", "Posted"]
    host = notice_view(notice(scope=NoticeScope.HOST, host="sod2.example.com"), zone)
    assert host.heading == "Notice for every tenant on sod2.example.com"
    planned = notice_view(notice(scheduled_id=4), zone)
    assert planned.planned and planned.status == "Planned"


def planned(ident: int, operation: str, hours: float) -> ScheduledOperation:
    return ScheduledOperation(
        ident, "Cust1", operation, {}, NOW + timedelta(hours=hours), ScheduleStatus.PENDING,
        "op", NOW,
    )  # fmt: skip


def test_only_what_can_run_from_the_state_then_is_advertised() -> None:
    suspended = Tenant("Cust1", "https://h/Cust1", TenantState.Suspended, NOW, NOW)
    plan = [planned(1, "maintenance-offline", 1), planned(2, "maintenance-done", 2)]
    assert runnable(plan, suspended) == []
    resumed = [planned(3, "resume", 0.5), *plan]
    assert [s.id for s in runnable(resumed, suspended)] == [3, 1, 2]
    assert describe_plan("upgrade", "R2") == "will be upgraded to R2"
    assert describe_plan("maintenance-done") == "maintenance will end"
