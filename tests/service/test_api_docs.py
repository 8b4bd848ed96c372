"""`/docs` and `/redoc` in real Chromium with every non-loopback request blocked."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx2 as httpx
import pytest

from tests.status.conftest import CHROMIUM, CHROMIUM_ARGS, ROOT
from tests.support.processes import ServiceProcess

SCREENSHOTS = ROOT / "docs" / "screenshots"
LOOPBACK = {"127.0.0.1", "localhost", "[::1]", "::1"}


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's Chromium, driven by Playwright; module-scoped, as in tests/status."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium (see .ci/run)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


class OfflinePage:
    """A page whose requests off loopback are refused, and remembered."""

    def __init__(self, browser: Any) -> None:
        self.context = browser.new_context(viewport={"width": 1200, "height": 900})
        self.page = self.context.new_page()
        self.refused: list[str] = []
        self.console_errors: list[str] = []
        self.page.route("**/*", self._route)
        self.page.on(
            "console",
            lambda m: self.console_errors.append(m.text) if m.type == "error" else None,
        )

    def _route(self, route: Any) -> None:
        url = route.request.url
        if urlsplit(url).hostname in LOOPBACK:
            route.continue_()
        else:
            self.refused.append(url)
            route.abort()


@pytest.fixture
def offline(browser: Any) -> Iterator[OfflinePage]:
    page = OfflinePage(browser)
    yield page
    page.context.close()


def test_swagger_ui_shows_the_operations_and_authorize_offline(
    offline: OfflinePage, service: ServiceProcess, tmp_path: Path
) -> None:
    page = offline.page
    page.goto(f"{service.url}/docs")
    page.wait_for_selector(".opblock-summary", timeout=30_000)
    assert page.locator("button.authorize").is_visible()
    assert page.locator(".opblock").count() >= 34
    assert "Provision a tenant" in page.inner_text("#swagger-ui")
    assert "/api/state/{ContextIdentifier}" in page.inner_text("#swagger-ui")
    assert offline.refused == []
    assert offline.console_errors == []
    target = tmp_path / "api-docs.png"
    page.screenshot(path=str(target))
    assert target.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    # TENANTSTATUS_SCREENSHOTS=1 refreshes the picture the README shows.
    if os.environ.get("TENANTSTATUS_SCREENSHOTS") == "1":
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        shutil.copy(target, SCREENSHOTS / target.name)


def test_the_authorize_dialog_takes_the_bearer_token(
    offline: OfflinePage, service: ServiceProcess
) -> None:
    page = offline.page
    page.goto(f"{service.url}/docs")
    page.click("button.authorize", timeout=30_000)
    dialog = page.locator(".dialog-ux")
    assert "HTTPBearer" in dialog.inner_text()
    assert dialog.locator("input").count() == 1
    assert offline.refused == []


def test_redoc_shows_the_reference_offline(offline: OfflinePage, service: ServiceProcess) -> None:
    page = offline.page
    page.goto(f"{service.url}/redoc")
    heading = page.get_by_role("heading", name="Get the state of a tenant")
    heading.wait_for(timeout=30_000)
    assert page.get_by_role("heading", name="Provision a tenant").count() == 1
    assert "Authorization" in page.inner_text("body")  # the HTTPBearer scheme
    assert offline.refused == []


def test_the_pages_load_only_their_own_assets_under_a_strict_policy(
    service: ServiceProcess,
) -> None:
    for path in ("/docs", "/redoc"):
        page = httpx.get(f"{service.url}{path}")
        assert page.status_code == 200
        policy = page.headers["content-security-policy"]
        script_src = re.search(r"script-src ([^;]*)", policy)
        assert script_src is not None and script_src.group(1) == "'self'"
        assert "default-src 'none'" in policy
        assert "<script>" not in page.text  # no inline script: init is a file
        links = re.findall(r'(?:src|href)="([^"]+)"', page.text)
        assert links and all(link.startswith("/") for link in links), links
        for link in links:
            if not link.startswith("/docs/assets/"):
                continue
            asset = httpx.get(f"{service.url}{link}")
            assert asset.status_code == 200, link
            assert "immutable" in asset.headers["cache-control"]
    assert httpx.get(f"{service.url}/docs/assets/nothing.js").status_code == 404
