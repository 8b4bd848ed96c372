"""`tenantstatus app portal-link APP`: the operator's command prints a link that opens the
portal once; a wrong application is one line and exit code 1."""

from __future__ import annotations

import json

from tests.portal.conftest import World


def test_the_command_prints_a_link_that_opens_the_portal_once(portal_world: World) -> None:
    printed = portal_world.service.cli("app", "portal-link", portal_world.b.id)
    first, url = printed.stdout.strip().splitlines()
    assert first.startswith(f"portal link for {portal_world.b.id} (single use, until 20")
    assert url.startswith(f"{portal_world.service.url}/portal/enter?token=tspl_")
    portal = portal_world.portal()
    try:
        assert portal.enter(url).status_code == 303
        assert "Bee App" in portal.http.get("/portal").text
    finally:
        portal.close()
    as_json = json.loads(
        portal_world.service.cli("app", "portal-link", portal_world.b.id, "--json").stdout
    )
    assert set(as_json) == {"ApplicationId", "Url", "ExpiresAt"}
    assert as_json["Url"] != url


def test_an_unknown_application_is_one_line_and_exit_code_1(portal_world: World) -> None:
    refused = portal_world.service.cli("app", "portal-link", "app_0000000000000000", check=False)
    assert refused.returncode == 1
    (line,) = refused.stderr.strip().splitlines()
    assert line.startswith("error: ") and "app_0000000000000000" in line
