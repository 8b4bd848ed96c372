"""summary.json, the Atom feeds and the badge, from a real service."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest

from tests.status.atom import ATOM, AtomError, check_feed
from tests.status.conftest import Seeded
from tests.support.processes import ServiceProcess

SVG = "{http://www.w3.org/2000/svg}"

# The Statuspage v2 summary.json shape: key -> type (or a nested shape / list of one).
_NULLABLE_TEXT = (str, type(None))
_COMPONENT = {
    "id": str, "name": str, "status": str, "created_at": str, "updated_at": str,
    "position": int, "description": _NULLABLE_TEXT, "showcase": bool,
    "start_date": _NULLABLE_TEXT, "group_id": _NULLABLE_TEXT, "page_id": str, "group": bool,
    "only_show_if_degraded": bool,
}  # fmt: skip
_UPDATE = {
    "id": str, "status": str, "body": str, "incident_id": str, "created_at": str,
    "updated_at": str, "display_at": str, "affected_components": list,
    "deliver_notifications": bool, "custom_tweet": _NULLABLE_TEXT, "tweet_id": _NULLABLE_TEXT,
}  # fmt: skip
_INCIDENT = {
    "id": str, "name": str, "status": str, "created_at": str, "updated_at": str,
    "monitoring_at": _NULLABLE_TEXT, "resolved_at": _NULLABLE_TEXT, "impact": str,
    "shortlink": str, "started_at": str, "page_id": str, "incident_updates": [_UPDATE],
    "components": [_COMPONENT],
}  # fmt: skip
_MAINTENANCE = {**_INCIDENT, "scheduled_for": str, "scheduled_until": _NULLABLE_TEXT}
SUMMARY_SHAPE = {
    "page": {"id": str, "name": str, "url": str, "time_zone": str, "updated_at": str},
    "status": {"indicator": str, "description": str},
    "components": [_COMPONENT],
    "incidents": [_INCIDENT],
    "scheduled_maintenances": [_MAINTENANCE],
}
COMPONENT_STATUSES = {
    "operational", "degraded_performance", "partial_outage", "major_outage", "under_maintenance",
}  # fmt: skip
INDICATORS = {"none", "minor", "major", "critical", "maintenance"}
INCIDENT_STATUSES = {"investigating", "identified", "monitoring", "resolved", "postmortem"}
MAINTENANCE_STATUSES = {"scheduled", "in_progress", "verifying", "completed"}


def conforms(value: Any, shape: Any, where: str = "$") -> None:
    """Assert that `value` has `shape`: every key, with its type, and nothing else."""
    if isinstance(shape, dict):
        assert isinstance(value, dict), where
        assert set(value) == set(shape), f"{where}: {set(value) ^ set(shape)}"
        for key, inner in shape.items():
            conforms(value[key], inner, f"{where}.{key}")
    elif isinstance(shape, list):
        assert isinstance(value, list), where
        for index, item in enumerate(value):
            conforms(item, shape[0], f"{where}[{index}]")
    else:
        assert isinstance(value, shape) and not (shape is int and isinstance(value, bool)), where


def summary(service: ServiceProcess, ctx: str) -> dict[str, Any]:
    response = httpx.get(f"{service.url}/status/{ctx}/summary.json")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    document: dict[str, Any] = response.json()
    conforms(document, SUMMARY_SHAPE)
    assert document["status"]["indicator"] in INDICATORS
    assert {c["status"] for c in document["components"]} <= COMPONENT_STATUSES
    assert {i["status"] for i in document["incidents"]} <= INCIDENT_STATUSES
    assert {m["status"] for m in document["scheduled_maintenances"]} <= MAINTENANCE_STATUSES
    return document


def test_summary_of_a_running_tenant_lists_its_planned_upgrade(seeded: Seeded) -> None:
    document = summary(seeded.service, seeded.story)
    assert document["status"] == {"indicator": "none", "description": "All Systems Operational"}
    assert document["components"][0]["status"] == "operational"
    assert document["incidents"] == []
    (upgrade,) = document["scheduled_maintenances"]
    assert upgrade["status"] == "scheduled" and upgrade["impact"] == "maintenance"
    assert upgrade["scheduled_for"].endswith("T02:00:00.000Z")
    assert upgrade["scheduled_until"].endswith("T02:45:00.000Z")
    assert document["page"]["url"] == f"{seeded.service.url}/status/{seeded.story}"


def test_summary_of_an_upgrading_tenant_shows_maintenance_in_progress(seeded: Seeded) -> None:
    document = summary(seeded.service, seeded.upgrading)
    assert document["status"]["indicator"] == "maintenance"
    assert document["components"][0]["status"] == "under_maintenance"
    (window,) = document["scheduled_maintenances"]
    assert window["status"] == "in_progress" and window["scheduled_until"] is None


def test_summary_of_an_incident_is_an_unresolved_incident(service: ServiceProcess) -> None:
    with service.admin() as admin:
        admin.post(
            "/admin/tenants",
            json={
                "ContextIdentifier": "SumIncident",
                "Endpoint": "https://h/x",
                "State": "Running",
            },
        ).raise_for_status()
        admin.post(
            "/admin/tenants/SumIncident/operations", json={"Operation": "incident"}
        ).raise_for_status()
    document = summary(service, "SumIncident")
    assert document["status"]["indicator"] == "critical"
    (incident,) = document["incidents"]
    assert incident["status"] == "investigating" and incident["impact"] == "critical"
    assert incident["resolved_at"] is None
    assert incident["incident_updates"][0]["affected_components"][0]["new_status"] == (
        "major_outage"
    )


def test_summary_of_an_unknown_tenant_is_a_problem(service: ServiceProcess) -> None:
    response = httpx.get(f"{service.url}/status/NoSuchTenant/summary.json")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


def test_the_tenant_feed_is_valid_atom_with_changes_and_plans(seeded: Seeded) -> None:
    response = httpx.get(f"{seeded.service.url}/status/{seeded.story}/feed.atom")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/atom+xml; charset=utf-8"
    feed = check_feed(response.content)
    entries = feed.findall(ATOM + "entry")
    assert len(entries) == 33 + 2  # every change so far, and the two planned operations
    titles = [e.findtext(ATOM + "title") or "" for e in entries]
    assert any(f"{seeded.story} will be upgraded to Release 11.11 at" in t for t in titles)
    assert any("Incident: state unknown (Running \u2192 Unknown)" in t for t in titles)
    self_link = feed.find(ATOM + "link[@rel='self']")
    assert self_link is not None
    assert self_link.get("href") == f"{seeded.service.url}/status/{seeded.story}/feed.atom"


def test_the_feed_of_every_tenant_is_valid_atom_and_for_the_operator(seeded: Seeded) -> None:
    url = f"{seeded.service.url}/status/feed.atom"
    refused = httpx.get(url)
    assert refused.status_code == 401
    assert refused.headers["www-authenticate"].startswith("Basic ")
    response = httpx.get(url, auth=("operator", seeded.service.token))
    assert response.status_code == 200
    feed = check_feed(response.content)
    tenants_named = {
        (e.findtext(ATOM + "title") or "").split(":")[0] for e in feed.findall(ATOM + "entry")
    }
    assert {seeded.upgrading, seeded.suspended} <= tenants_named


@pytest.mark.parametrize(
    "broken",
    [
        b'<feed xmlns="http://www.w3.org/2005/Atom"><title>t</title>'
        b"<updated>2026-01-01T00:00:00Z</updated></feed>",
        b'<feed xmlns="http://www.w3.org/2005/Atom"><id>urn:x</id><title>t</title>'
        b"<updated>yesterday</updated></feed>",
        b'<feed xmlns="http://www.w3.org/2005/Atom"><id>urn:x</id><title>t</title>'
        b"<updated>2026-01-01T00:00:00Z</updated><entry><id>urn:e</id><title>e</title>"
        b'<updated>2026-01-01T00:00:00Z</updated><link href="http://h/"/></entry></feed>',
        b'<feed xmlns="http://www.w3.org/2005/Atom"><id>relative</id><title>t</title>'
        b"<updated>2026-01-01T00:00:00Z</updated><author><name>a</name></author></feed>",
    ],
    ids=["no-id", "bad-date", "entry-without-author", "relative-id"],
)
def test_the_atom_checker_refuses_broken_feeds(broken: bytes) -> None:
    with pytest.raises(AtomError):
        check_feed(broken)


def test_pages_announce_their_feeds(seeded: Seeded) -> None:
    page = httpx.get(f"{seeded.service.url}/status/{seeded.story}").text
    assert (
        '<link rel="alternate" type="application/atom+xml" '
        f'title="{seeded.story}: state changes" href="/status/{seeded.story}/feed.atom">'
    ) in page


def test_the_badge_is_svg_naming_the_tenant_and_its_state(seeded: Seeded) -> None:
    response = httpx.get(f"{seeded.service.url}/status/{seeded.suspended}/badge.svg")
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/svg+xml; charset=utf-8"
    root = ET.fromstring(response.content)  # noqa: S314 - our own service's output
    assert root.tag == SVG + "svg"
    assert root.get("role") == "img"
    assert root.get("aria-label") == f"{seeded.suspended}: suspended"
    assert root.findtext(SVG + "title") == f"{seeded.suspended}: suspended"
    texts = [t.text for t in root.iter(SVG + "text")]
    assert texts == [seeded.suspended, "suspended"]
    assert int(root.get("width", "0")) > 60 and root.get("height") == "20"


def test_an_unknown_tenant_has_an_unknown_badge(service: ServiceProcess) -> None:
    response = httpx.get(f"{service.url}/status/NobodyHere/badge.svg")
    assert response.status_code == 200
    assert b"NobodyHere: unknown" in response.content


def test_text_from_operators_is_escaped_everywhere(service: ServiceProcess) -> None:
    hostile = '<script>alert("x")</script> & "quotes"'
    with service.admin() as admin:
        admin.post(
            "/admin/tenants",
            json={
                "ContextIdentifier": "SumEscape",
                "Endpoint": "https://h/SumEscape",
                "State": "Running",
                "VersionName": hostile,
                "FileVersion": "1",
            },
        ).raise_for_status()
    page = httpx.get(f"{service.url}/status/SumEscape")
    assert "<script>alert" not in page.text
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; &#34;quotes&#34;" in page.text
    assert "script-src 'self'" in page.headers["content-security-policy"]


def test_the_overview_can_be_public(tmp_path: Path) -> None:
    public = ServiceProcess(tmp_path / "data", env={"TENANTSTATUS_STATUS_PUBLIC": "1"}).start()
    try:
        assert httpx.get(f"{public.url}/status").status_code == 200
        assert httpx.get(f"{public.url}/status/feed.atom").status_code == 200
    finally:
        public.stop()


def test_the_private_overview_takes_the_token_as_bearer_or_basic(service: ServiceProcess) -> None:
    url = f"{service.url}/status"
    assert httpx.get(url, headers={"Authorization": f"Bearer {service.token}"}).status_code == 200
    assert httpx.get(url, auth=("anyone", service.token)).status_code == 200
    assert httpx.get(url, auth=("anyone", "wrong")).status_code == 401
    assert httpx.get(url, headers={"Authorization": "Basic !!!"}).status_code == 401
