"""URLs from operators carry only what a URL may carry unencoded; the API says so."""

from __future__ import annotations

import httpx2 as httpx
import pytest

from tests.support.processes import ServiceProcess

ATTACK = 'https://e.example.com/"><img src=x onerror=alert(document.domain)>'
HOSTILE = [
    ATTACK,
    "https://e.example.com/a b",
    "https://e.example.com/<script>",
    "https://e.example.com/caf\u00e9",
    "https://e.example.com/%zz",
    "https://e.example.com/\r\nSet-Cookie:x=1",
    "https://e.example.com/x\n",
]


@pytest.mark.parametrize("endpoint", HOSTILE)
def test_an_endpoint_with_characters_a_url_must_encode_is_refused(
    service: ServiceProcess, endpoint: str
) -> None:
    with service.admin() as admin:
        created = admin.post(
            "/admin/tenants", json={"ContextIdentifier": "Hostile1", "Endpoint": endpoint}
        )
        imported = admin.post(
            "/admin/tenants/import",
            json={"Tenants": [{"ContextIdentifier": "Hostile2", "Endpoint": endpoint}]},
        )
    for answer in (created, imported):
        assert answer.status_code == 422, answer.text
        assert answer.headers["content-type"] == "application/problem+json"
        assert "Endpoint" in answer.json()["detail"]
        assert "percent-encode" in answer.json()["detail"]
    for tenant in ("Hostile1", "Hostile2"):
        state = httpx.get(f"{service.url}/api/state/{tenant}").json()
        assert state["State"] == "Unknown"


def test_a_move_to_a_hostile_endpoint_is_refused_and_changes_nothing(
    service: ServiceProcess,
) -> None:
    endpoint = "https://online2.superoffice.com/Cust40001"
    with service.admin() as admin:
        admin.post(
            "/admin/tenants",
            json={"ContextIdentifier": "Cust40001", "Endpoint": endpoint, "State": "Running"},
        ).raise_for_status()
        moved = admin.post(
            "/admin/tenants/Cust40001/operations", json={"Operation": "move", "Endpoint": ATTACK}
        )
    assert moved.status_code == 422
    state = httpx.get(f"{service.url}/api/state/Cust40001").json()
    assert state["Endpoint"] == endpoint
    assert state["Api"] == f"{endpoint}/api"


def test_a_normal_endpoint_is_served_as_given(service: ServiceProcess) -> None:
    endpoint = "https://online2.superoffice.com/Cust40002_a-b.c~d%20e"
    with service.admin() as admin:
        created = admin.post(
            "/admin/tenants", json={"ContextIdentifier": "Cust40002", "Endpoint": endpoint}
        )
    assert created.status_code == 201, created.text
    assert httpx.get(f"{service.url}/api/state/Cust40002").json()["Endpoint"] == endpoint


@pytest.mark.parametrize("url", [ATTACK, "https://hooks.example.com/a b"])
def test_a_state_change_url_with_characters_a_url_must_encode_is_refused(
    service: ServiceProcess, url: str
) -> None:
    with service.admin() as admin:
        answer = admin.post("/admin/applications", json={"Name": "Hostile", "Url": url})
    assert answer.status_code == 422
    assert answer.json()["errors"][0]["loc"] == ["body", "Url"]
    assert "percent-encode" in answer.json()["detail"]


def test_the_openapi_document_states_the_url_patterns(service: ServiceProcess) -> None:
    schemas = httpx.get(f"{service.url}/openapi.json").json()["components"]["schemas"]
    assert "pattern" in schemas["TenantCreate"]["properties"]["Endpoint"]
    assert "pattern" in schemas["ApplicationCreate"]["properties"]["Url"]
