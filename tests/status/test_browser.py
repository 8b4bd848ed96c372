"""The status pages in real Chromium: what a person sees, with and without JavaScript."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.rollouts.support import add_tenants, create, finish, offline, poll, rollout_body, show
from tests.status.conftest import ROOT, Seeded

SCREENSHOTS = ROOT / "docs" / "screenshots"
WCAG_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1000, "height": 900})
    yield context.new_page()
    context.close()


def state_text(page: Any) -> str:
    return str(page.inner_text(".current .state-label"))


def test_the_page_shows_the_state_in_words(page: Any, seeded: Seeded) -> None:
    page.goto(f"{seeded.service.url}/status/{seeded.story}")
    assert state_text(page) == "Running"
    assert "All is good" in page.inner_text(".current .meaning")
    assert page.inner_text(".current .api").strip().endswith("Usable")
    assert "Release 11.10" in page.inner_text(".facts")
    assert "Upgrade, from" in page.inner_text(".facts .window")
    assert page.locator(".bar > li").count() == 90
    assert page.locator(".bar > li.tone-down").count() == 1  # the incident's day
    assert page.locator(".history tbody tr").count() == 20
    assert page.title() == f"{seeded.story}: Running"


def test_an_upgrading_and_a_suspended_tenant_say_the_api_is_not_usable(
    page: Any, seeded: Seeded
) -> None:
    page.goto(f"{seeded.service.url}/status/{seeded.upgrading}")
    assert state_text(page) == "Upgrading to Release 11.10"
    assert page.inner_text(".facts .state-name") == "Offline maintenance"
    assert "typically" not in page.inner_text(".current")
    assert "Upgrade since" in page.inner_text(".facts .under-way")
    assert "None planned" in page.inner_text(".facts .window")  # under way is not "next"
    assert page.inner_text(".current .api").strip().endswith("Not usable")
    # Created 40 days ago: the 49 days before say "no data", not "down".
    assert page.locator(".bar > li.tone-none").count() == 49
    page.goto(f"{seeded.service.url}/status/{seeded.suspended}")
    assert state_text(page) == "Suspended"
    assert "can still reactivate" in page.inner_text(".current .meaning")


def test_after_an_operation_through_the_cli_a_reload_shows_the_new_state(
    page: Any, seeded: Seeded
) -> None:
    service = seeded.service
    service.cli(
        "tenant", "add", "Cust2001", "--endpoint", "https://h/Cust2001", "--state", "Running"
    )
    page.goto(f"{service.url}/status/Cust2001")
    assert state_text(page) == "Running"
    service.cli("tenant", "op", "Cust2001", "suspend")
    page.reload()
    assert state_text(page) == "Suspended"
    assert page.locator(".history tbody tr").first.inner_text().count("Suspended") == 2
    service.cli("tenant", "op", "Cust2001", "resume")
    page.reload()
    assert state_text(page) == "Running"


def test_the_page_reads_the_same_without_javascript(browser: Any, seeded: Seeded) -> None:
    context = browser.new_context(java_script_enabled=False, timezone_id="Asia/Tokyo")
    page = context.new_page()
    try:
        page.goto(f"{seeded.service.url}/status/{seeded.upgrading}")
        assert state_text(page) == "Upgrading to Release 11.10"
        assert page.get_attribute("body", "data-zone") == "UTC"
        assert "UTC" in page.inner_text(".facts")
    finally:
        context.close()


def test_times_and_days_follow_the_readers_time_zone(browser: Any, seeded: Seeded) -> None:
    context = browser.new_context(timezone_id="Asia/Tokyo")
    page = context.new_page()
    try:
        page.goto(f"{seeded.service.url}/status/{seeded.story}")
        page.wait_for_selector("body[data-zone='Asia/Tokyo']")
        assert "JST" in page.inner_text(".facts")
        assert "by day in Asia/Tokyo" in page.inner_text(".uptime")
        today_in_tokyo = page.evaluate(
            "new Intl.DateTimeFormat('en-CA', {timeZone: 'Asia/Tokyo'}).format(new Date())"
        )
        table_first_day = page.get_attribute("details tbody tr time", "datetime")
        assert table_first_day == today_in_tokyo
        # The choice is remembered: the next page opens in the reader's zone at once.
        page.goto(f"{seeded.service.url}/status/{seeded.suspended}")
        assert page.get_attribute("body", "data-zone") == "Asia/Tokyo"
        # UTC is still on the wire.
        assert page.get_attribute(".facts time", "datetime").endswith("Z")
    finally:
        context.close()


def test_the_page_fits_a_phone(browser: Any, seeded: Seeded) -> None:
    context = browser.new_context(
        viewport={"width": 360, "height": 740}, device_scale_factor=2, is_mobile=True
    )
    page = context.new_page()
    try:
        for ctx in (seeded.story, seeded.upgrading):
            page.goto(f"{seeded.service.url}/status/{ctx}")
            assert page.evaluate("document.documentElement.scrollWidth") <= 360
            assert page.locator(".bar").bounding_box()["width"] <= 360
    finally:
        context.close()


def axe_violations(browser: Any, axe_source: str, url: str, **options: Any) -> list[Any]:
    context = browser.new_context(bypass_csp=True, **options)
    page = context.new_page()
    try:
        page.goto(url)
        page.add_script_tag(content=axe_source)
        results = page.evaluate(
            "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", WCAG_AA
        )
    finally:
        context.close()
    return [
        {"id": v["id"], "help": v["help"], "nodes": [n["target"] for n in v["nodes"]][:5]}
        for v in results["violations"]
    ]


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_pages_pass_an_automated_accessibility_check(
    browser: Any, axe_source: str, seeded: Seeded, scheme: str
) -> None:
    base = seeded.service.url
    credentials = {"username": "operator", "password": seeded.service.token}
    for path in (
        f"/status/{seeded.story}",
        f"/status/{seeded.upgrading}",
        f"/status/{seeded.suspended}",
        f"/status/{seeded.announced}",
        f"/status/{seeded.incident}",
        "/status",
        "/status?q=Cust&state=Nonsense",
        "/status/NoSuchTenant",
    ):
        violations = axe_violations(
            browser, axe_source, base + path, color_scheme=scheme, http_credentials=credentials
        )
        assert violations == [], path


def test_the_overview_needs_the_operator_and_then_searches_filters_and_pages(
    browser: Any, seeded: Seeded
) -> None:
    anonymous = browser.new_context()
    try:
        # Headless Chromium has no login dialog; its request API shows what it received.
        response = anonymous.request.get(f"{seeded.service.url}/status")
        assert response.status == 401
        assert response.headers["www-authenticate"].startswith("Basic ")
        assert "Operator login needed" in response.text()
    finally:
        anonymous.close()
    context = browser.new_context(
        http_credentials={"username": "operator", "password": seeded.service.token}
    )
    page = context.new_page()
    try:
        page.goto(f"{seeded.service.url}/status")
        assert page.locator("table tbody tr").count() >= 3
        page.fill("#q", "Cust100")
        page.select_option("#state", "Suspended")
        page.click("form.search button")
        rows = page.locator("section:has(#list-heading) table tbody tr")
        assert rows.count() == 1
        assert seeded.suspended in rows.first.inner_text()
        assert "state=Suspended" in page.url and "q=Cust100" in page.url
        page.click(f"text={seeded.suspended}")
        assert state_text(page) == "Suspended"
    finally:
        context.close()


SHOTS = {
    "story": "running",
    "upgrading": "upgrading",
    "suspended": "suspended",
    "announced": "upgrade-message",
    "incident": "host-incident",
}


@pytest.mark.parametrize("which", list(SHOTS))
def test_screenshots_of_a_running_an_upgrading_and_a_suspended_tenant(
    browser: Any, seeded: Seeded, which: str, tmp_path: Path
) -> None:
    ctx = getattr(seeded, which)
    name = SHOTS[which]
    shots = []
    for scheme, width in (("light", 1000), ("dark", 390)):
        context = browser.new_context(viewport={"width": width, "height": 900}, color_scheme=scheme)
        page = context.new_page()
        try:
            page.goto(f"{seeded.service.url}/status/{ctx}")
            target = tmp_path / f"{name}-{scheme}.png"
            page.screenshot(path=str(target), full_page=True)
        finally:
            context.close()
        assert target.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
        shots.append(target)
    # TENANTSTATUS_SCREENSHOTS=1 refreshes the pictures the README shows.
    if os.environ.get("TENANTSTATUS_SCREENSHOTS") == "1":
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        for shot in shots:
            shutil.copy(shot, SCREENSHOTS / shot.name)


def test_the_badge_renders_as_an_image(page: Any, seeded: Seeded) -> None:
    page.goto(f"{seeded.service.url}/status/{seeded.story}")
    page.click("text=badge")
    assert page.evaluate("document.contentType") == "image/svg+xml"
    page.goto(f"{seeded.service.url}/status/{seeded.story}")
    size = page.evaluate(
        """url => new Promise((resolve, reject) => {
            const image = new Image();
            image.onload = () => resolve([image.naturalWidth, image.naturalHeight]);
            image.onerror = () => reject(new Error("the badge did not decode"));
            image.src = url;
        })""",
        f"/status/{seeded.story}/badge.svg",
    )
    assert size[1] == 20 and size[0] > 60


def test_the_accessibility_check_does_catch_violations(browser: Any, axe_source: str) -> None:
    context = browser.new_context()
    page = context.new_page()
    try:
        page.set_content(
            '<html><body><p style="color:#bbb;background:#fff">faint</p><img src="x.png">'
        )
        page.add_script_tag(content=axe_source)
        results = page.evaluate(
            "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", WCAG_AA
        )
    finally:
        context.close()
    assert {"color-contrast", "image-alt", "html-has-lang"} <= {
        v["id"] for v in results["violations"]
    }


def test_screenshot_of_the_overview_during_a_rollout(
    browser: Any, seeded: Seeded, tmp_path: Path
) -> None:
    service = seeded.service
    ids = add_tenants(service, "rshot.example.com", 6)
    body = rollout_body(
        "rshot.example.com",
        MaxInProgress=4,
        Message="Upgrading sod2 to Release 11.11 tonight; each tenant is back within 15 minutes.",
    )
    rollout = create(service, body)
    try:
        down = poll(lambda: len(d := offline(service, ids)) == 4 and d)
        finish(service, down[:2])
        poll(lambda: show(service, rollout["Id"])["Progress"]["Done"] == 2)
        context = browser.new_context(
            viewport={"width": 1000, "height": 900},
            http_credentials={"username": "operator", "password": service.token},
        )
        try:
            page = context.new_page()
            page.goto(f"{service.url}/status")
            section = page.locator("section:has(#rollouts-heading)")
            assert "2 of 6 finished" in section.inner_text()
            target = tmp_path / "rollout-overview-light.png"
            section.screenshot(path=str(target))
        finally:
            context.close()
        assert target.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
        if os.environ.get("TENANTSTATUS_SCREENSHOTS") == "1":
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            shutil.copy(target, SCREENSHOTS / target.name)
    finally:
        with service.admin() as admin:  # nothing of it stays planned for the other tests
            admin.post(f"/admin/rollouts/{rollout['Id']}/abort").raise_for_status()
            finish(service, [c for c in ids if c in offline(service, ids)])
