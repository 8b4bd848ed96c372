"""Who may read which status route: the operator's three, and the public rest.

Every route of the status router is in the matrix: the overview, the feed and the
calendar of every tenant need the operator token (Bearer, or Basic's password), each
tenant's own page, feeds, badge, calendar and Statuspage API are public.
"""

from __future__ import annotations

import httpx2 as httpx
import pytest
from fastapi import FastAPI

from tenantstatus.service.route_table import route_entries
from tenantstatus.service.status import status_router
from tests.support.processes import ServiceProcess

OPERATOR = ["/status", "/status/feed.atom", "/status/calendar.ics"]
TENANT = "AccessT"
PUBLIC = [
    f"/status/{TENANT}",
    f"/status/{TENANT}/summary.json",
    f"/status/{TENANT}/feed.atom",
    f"/status/{TENANT}/badge.svg",
    f"/status/{TENANT}/calendar.ics",
    *(
        f"/status/{TENANT}/api/v2/{name}"
        for name in (
            "summary.json",
            "status.json",
            "components.json",
            "incidents.json",
            "incidents/unresolved.json",
            "scheduled-maintenances.json",
            "scheduled-maintenances/upcoming.json",
            "scheduled-maintenances/active.json",
        )
    ),
]


@pytest.fixture(scope="module")
def tenant(service: ServiceProcess) -> str:
    with service.admin() as admin:
        admin.post(
            "/admin/tenants",
            json={
                "ContextIdentifier": TENANT,
                "Endpoint": f"https://h/{TENANT}",
                "State": "Running",
            },
        )
    return TENANT


def test_the_matrix_covers_every_status_route() -> None:
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    app.include_router(status_router())
    routes = {
        entry.path_format
        for entry in route_entries(app)
        if not entry.path_format.startswith("/status/assets/")
    }
    listed = set(OPERATOR) | {p.replace(TENANT, "{ContextIdentifier}") for p in PUBLIC}
    assert routes == listed


@pytest.mark.parametrize("path", OPERATOR)
@pytest.mark.parametrize("authorization", [None, "Bearer wrong", "Basic b3A6b3A=", "Basic !!!"])
def test_the_operator_routes_refuse_without_the_operator_token(
    service: ServiceProcess, path: str, authorization: str | None
) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    answer = httpx.get(f"{service.url}{path}", headers=headers)
    assert answer.status_code == 401
    assert answer.headers["www-authenticate"].startswith("Basic ")


@pytest.mark.parametrize("path", OPERATOR)
def test_the_operator_may_read_the_operator_routes(service: ServiceProcess, path: str) -> None:
    url = f"{service.url}{path}"
    assert httpx.get(url, auth=("anyone", service.token)).status_code == 200
    bearer = httpx.get(url, headers={"Authorization": f"Bearer {service.token}"})
    assert bearer.status_code == 200
    assert bearer.headers["cache-control"].startswith("private")


@pytest.mark.parametrize("path", PUBLIC)
def test_every_tenant_route_is_public(service: ServiceProcess, tenant: str, path: str) -> None:
    answer = httpx.get(f"{service.url}{path}")
    assert answer.status_code == 200, answer.text
    assert "private" not in answer.headers.get("cache-control", "")
