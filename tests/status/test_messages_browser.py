"""Operator messages as Chromium renders them, and in both Atom feeds."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx2 as httpx
import pytest

from tests.status.atom import ATOM, check_feed
from tests.status.conftest import Seeded

HOSTILE = (
    '<script>window.pwned = 1</script><img src=x onerror="window.pwned = 2"> '
    "Notes: https://docs.example.com/11.12?a=1&b=<i>x</i>."
)


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1000, "height": 900})
    yield context.new_page()
    context.close()


def in_hours(hours: float) -> str:
    return f"{datetime.now(UTC) + timedelta(hours=hours):%Y-%m-%dT%H:%M:%SZ}"


def test_a_message_and_a_later_note_show_on_the_page_and_script_stays_inert(
    page: Any, seeded: Seeded
) -> None:
    service = seeded.service
    with service.admin() as admin:
        admin.post(
            "/admin/tenants",
            json={"ContextIdentifier": "Cust3001", "Endpoint": "https://sod7.example.com/Cust3001",
                  "State": "Running", "VersionName": "Release 11.11"},
        )  # fmt: skip
    service.cli(
        "tenant", "op", "Cust3001", "upgrade", "--version-name", "Release 11.12",
        "--file-version", "11.12.0", "--message", HOSTILE, "--until", in_hours(1),
    )  # fmt: skip
    service.cli("tenant", "note", "Cust3001", "Half way <b>there</b>")
    page.goto(f"{service.url}/status/Cust3001")
    assert page.inner_text(".current .state-label") == "Upgrading to Release 11.12"
    assert "Expected to end by" in page.inner_text(".current .meaning")
    card = page.locator(".messages .notice-card").first
    assert "Upgrade to Release 11.12" in card.locator("h3").inner_text()
    messages = card.locator(".message")
    assert messages.count() == 2
    assert messages.nth(0).inner_text() == "Half way <b>there</b>"  # newest first
    assert messages.nth(1).inner_text().startswith("<script>window.pwned = 1</script><img")
    assert page.evaluate("typeof window.pwned") == "undefined"
    assert page.locator(".messages script, .messages img, .messages b").count() == 0
    link = card.locator("a")
    assert link.count() == 1
    assert link.get_attribute("href") == "https://docs.example.com/11.12?a=1&b="
    assert link.get_attribute("rel") == "nofollow noopener noreferrer"
    # Both feeds: one entry for the message and one for the note, the text as written.
    tenant_feed = httpx.get(f"{service.url}/status/Cust3001/feed.atom")
    every = httpx.get(f"{service.url}/status/feed.atom", auth=("operator", service.token))
    for response in (tenant_feed, every):
        entries = check_feed(response.content).findall(ATOM + "entry")
        terms = [(e, e.find(ATOM + "category")) for e in entries]
        mine = [e for e, c in terms if c is not None and "notice" in c.get("term", "")]
        bodies = [e.findtext(ATOM + "summary") or "" for e in mine]
        assert any(b.startswith(HOSTILE) for b in bodies), bodies
        assert "Half way <b>there</b>" in bodies
    assert b"<script>" not in tenant_feed.content  # escaped in the XML, not raw
    entries = check_feed(tenant_feed.content).findall(ATOM + "entry")
    links = [e.find(ATOM + "link").get("href", "") for e in entries]  # type: ignore[union-attr]
    assert sum("/status/Cust3001#notice-" in link for link in links) == 2


def test_an_announced_upgrade_is_headed_as_one_with_its_expected_end_and_timeline(
    page: Any, seeded: Seeded
) -> None:
    page.goto(f"{seeded.service.url}/status/{seeded.announced}")
    assert page.inner_text(".current .state-label") == "Upgrading to Release 11.12"
    assert "; expected to end by" in page.inner_text(".facts .under-way")
    timeline = page.locator(".messages .timeline li")
    assert timeline.count() == 3
    assert "Indexes are done" in timeline.nth(0).inner_text()
    assert "Upgrading to Release 11.12" in timeline.nth(2).inner_text()
    assert page.title() == f"{seeded.announced}: Upgrading to Release 11.12"
    # Announced, so the quotable share leaves the upgrade out; the raw one does not.
    assert "running" in page.inner_text(".uptime")
    quotable = page.inner_text(".quotable")
    assert quotable.startswith("100 %") and "excluding announced maintenance" in quotable
    assert not page.inner_text(".uptime").startswith("100 %")


def test_a_host_wide_notice_shows_on_each_tenant_of_the_host_only(
    page: Any, seeded: Seeded
) -> None:
    for ctx in (seeded.incident, "Cust1006"):
        page.goto(f"{seeded.service.url}/status/{ctx}")
        card = page.locator(".messages .notice-card")
        assert card.count() == 1
        assert "Notice for every tenant on sod5.example.com" in card.locator("h3").inner_text()
        assert "storage array is back" in card.locator(".timeline li").first.inner_text()
    page.goto(f"{seeded.service.url}/status/{seeded.story}")
    assert page.locator(".messages").count() == 0


def test_plans_read_in_the_future_tense_and_only_what_can_run_is_advertised(
    page: Any, seeded: Seeded
) -> None:
    page.goto(f"{seeded.service.url}/status/{seeded.story}")
    planned = page.inner_text("#planned-heading + .scroll")
    assert "Will be upgraded to Release 11.11" in planned
    assert "The upgrade will finish" in planned
    assert "finished" not in planned.lower()
    page.goto(f"{seeded.service.url}/status/{seeded.suspended}")
    assert "None planned" in page.inner_text(".facts .window")
    assert "Nothing is planned." in page.inner_text("section:has(#planned-heading)")


def test_an_unknown_or_malformed_id_suggests_a_typo(page: Any, seeded: Seeded) -> None:
    for path in ("/status/Cust99999", "/status/not%20an%20id"):
        response = page.goto(f"{seeded.service.url}{path}")
        assert response.status == 404
        text = page.inner_text("main")
        assert "typo" in text and "environment has a problem" not in text


def test_the_overview_shows_what_is_under_way_and_what_is_planned_next(
    browser: Any, seeded: Seeded
) -> None:
    context = browser.new_context(
        http_credentials={"username": "operator", "password": seeded.service.token}
    )
    page = context.new_page()
    try:
        page.goto(f"{seeded.service.url}/status")
        now = page.inner_text("section:has(#now-heading)")
        assert "Every tenant on sod5.example.com" in now
        assert "Upgrading to Release 11.12" in now and seeded.announced in now
        headings = page.locator("section:has(#now-heading) .notice-card h3").all_inner_texts()
        assert any(h.startswith("Upgrade to Release 11.12") for h in headings), headings
        assert seeded.upgrading in now  # in maintenance, without a message
        coming = page.inner_text("section:has(#next-heading)")
        assert "Will be upgraded to Release 11.11" in coming and seeded.story in coming
    finally:
        context.close()
