"""The portal in real Chromium: log in, read each view, act, log out; without JavaScript;
the same axe-core check as the status pages, light and dark; the README's screenshots."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.portal.conftest import World
from tests.status.conftest import axe_source as axe_source
from tests.status.conftest import browser as browser
from tests.status.test_browser import SCREENSHOTS, WCAG_AA

VIEWS = ["/portal", "/portal/customers", "/portal/deliveries"]


def log_in(page: Any, world: World, token: str) -> None:
    page.goto(f"{world.service.url}/portal")
    assert page.url.endswith("/portal/login")
    page.fill("#token", token)
    page.click("main form button")
    page.wait_for_url(f"{world.service.url}/portal")


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1000, "height": 900})
    yield context.new_page()
    context.close()


def test_log_in_read_every_view_send_a_test_and_log_out(page: Any, portal_world: World) -> None:
    log_in(page, portal_world, portal_world.a.token)
    assert page.inner_text("h1") == "Awesome <App>"
    assert page.input_value("#url").endswith("/markup/portal-a")
    page.click("text=Customers")
    assert page.locator("table tbody tr").count() == 2
    page.fill("#q", "PortalA1")
    page.click("form.search button")
    assert page.locator("table tbody tr").count() == 1
    page.click("nav >> text=Deliveries")
    assert page.locator(f"#d-{portal_world.a_delivery}").count() == 1
    assert page.locator("#injected").count() == 0  # the receiver's markup is text
    assert "<script>alert(" in page.inner_text("pre.excerpt >> nth=0")
    page.click("nav >> text=Application")
    page.select_option("#change-type", "Resume")
    page.click("button:has-text('Send test notification')")
    page.wait_for_url("**/portal/deliveries?notice=test")
    assert "A test notification is queued" in page.inner_text("main")
    # Reload until its one attempt shows (poll with a deadline, not a sleep).
    heading = page.locator("article h3", has_text="Resume for tenantstatus-test (test)").first
    for _ in range(100):
        if "delivered" in heading.inner_text():
            break
        page.wait_for_timeout(100)
        page.reload()
    assert heading.inner_text().endswith("delivered")
    page.click("header >> text=Log out")
    page.wait_for_url("**/portal/login?notice=logged-out")
    assert "You have logged out." in page.inner_text("main")
    page.goto(f"{portal_world.service.url}/portal/deliveries")
    assert page.url.endswith("/portal/login")


def test_the_portal_works_without_javascript(browser: Any, portal_world: World) -> None:
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    try:
        log_in(page, portal_world, portal_world.b.token)
        page.click("button:has-text('Rotate secret')")
        assert page.inner_text("#secret").startswith("whsec_")
        page.goto(f"{portal_world.service.url}/portal/customers")
        assert "PortalB1" in page.inner_text("table")
    finally:
        context.close()


def test_a_portal_link_opens_the_portal_in_the_browser(browser: Any, portal_world: World) -> None:
    link = portal_world.link(portal_world.b)
    context = browser.new_context()
    page = context.new_page()
    try:
        page.goto(link)
        page.click("button:has-text('Open the portal')")
        page.wait_for_url(f"{portal_world.service.url}/portal")
        assert page.inner_text("h1") == "Bee App"
        page.goto(link)
        page.click("button:has-text('Open the portal')")
        assert "This link no longer works" in page.inner_text("h1")
    finally:
        context.close()


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_portal_passes_the_accessibility_check(
    browser: Any, axe_source: str, portal_world: World, scheme: str
) -> None:
    context = browser.new_context(bypass_csp=True, color_scheme=scheme)
    page = context.new_page()
    try:
        found = {}
        page.goto(f"{portal_world.service.url}/portal/login")
        found["/portal/login"] = axe(page, axe_source)
        log_in(page, portal_world, portal_world.a.token)
        for path in [*VIEWS, "/portal/customers?q=%3Cb%3E&state=Nope"]:
            page.goto(portal_world.service.url + path)
            found[path] = axe(page, axe_source)
    finally:
        context.close()
    assert found == {path: [] for path in found}


def axe(page: Any, source: str) -> list[Any]:
    page.add_script_tag(content=source)
    results = page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", WCAG_AA
    )
    return [
        {"id": v["id"], "help": v["help"], "nodes": [n["target"] for n in v["nodes"]][:5]}
        for v in results["violations"]
    ]


def test_screenshots_of_the_portal(browser: Any, portal_world: World, tmp_path: Path) -> None:
    shots = []
    for scheme, width in (("light", 1000), ("dark", 390)):
        context = browser.new_context(viewport={"width": width, "height": 900}, color_scheme=scheme)
        page = context.new_page()
        try:
            log_in(page, portal_world, portal_world.a.token)
            for name, path in (("application", "/portal"), ("deliveries", "/portal/deliveries")):
                if scheme == "dark" and name == "application":
                    continue
                page.goto(portal_world.service.url + path)
                target = tmp_path / f"portal-{name}-{scheme}.png"
                page.screenshot(
                    path=str(target), full_page=scheme == "light" and name != "deliveries"
                )
                assert target.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
                shots.append(target)
        finally:
            context.close()
    # TENANTSTATUS_SCREENSHOTS=1 refreshes the pictures the README shows.
    if os.environ.get("TENANTSTATUS_SCREENSHOTS") == "1":
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        for shot in shots:
            shutil.copy(shot, SCREENSHOTS / shot.name)
