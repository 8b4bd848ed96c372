"""The operator API over real HTTP: authorization, errors, paging, import."""

from __future__ import annotations

import httpx2 as httpx
import pytest

from tests.support.processes import ServiceProcess

ROUTES: list[tuple[str, str, dict[str, object] | None]] = [
    ("GET", "/admin/tenants", None),
    ("POST", "/admin/tenants", {"ContextIdentifier": "AuthX", "Endpoint": "https://h/x"}),
    ("POST", "/admin/tenants/import", {"Tenants": []}),
    ("GET", "/admin/tenants/import", None),
    ("GET", "/admin/tenants/AuthX", None),
    ("POST", "/admin/tenants/AuthX/operations", {"Operation": "suspend"}),
    ("GET", "/admin/schedule", None),
    ("GET", "/admin/schedule/1", None),
    ("DELETE", "/admin/schedule/1", None),
    ("POST", "/admin/notices", {"Body": "x", "Host": "sod2.example.com"}),
    ("GET", "/admin/notices", None),
    ("GET", "/admin/notices/1", None),
    ("POST", "/admin/notices/1/updates", {"Body": "x"}),
    ("POST", "/admin/notices/1/resolve", None),
    ("POST", "/admin/tenants/AuthX/notes", {"Body": "x"}),
]


@pytest.mark.parametrize(("method", "path", "body"), ROUTES)
@pytest.mark.parametrize("authorization", [None, "Bearer wrong", "Basic b3A6b3A=", "Bearer"])
def test_every_admin_route_refuses_without_the_operator_token(
    service: ServiceProcess, method: str, path: str, body: object, authorization: str | None
) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    response = httpx.request(method, f"{service.url}{path}", json=body, headers=headers)
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert "operator token" in response.json()["detail"]


def test_create_then_show_with_history(service: ServiceProcess) -> None:
    with service.admin() as admin:
        created = admin.post(
            "/admin/tenants",
            json={
                "ContextIdentifier": "AdminShow",
                "Endpoint": "https://sod1.example.com/AdminShow",
            },
        )
        assert created.status_code == 201
        assert created.json()["Tenant"]["State"] == "Provisioning"
        assert (
            admin.post(
                "/admin/tenants/AdminShow/operations", json={"Operation": "provision-done"}
            ).status_code
            == 200
        )
        detail = admin.get("/admin/tenants/AdminShow").json()
    assert detail["Tenant"]["State"] == "Running"
    assert [h["Operation"] for h in detail["History"]] == ["provision-done", "provision"]
    assert detail["History"][0]["FromState"] == "Provisioning"
    assert detail["History"][0]["Actor"] == "operator"
    assert "suspend" in detail["Tenant"]["AllowedOperations"]


def test_refused_transition_is_409_naming_state_and_allowed_operations(
    service: ServiceProcess,
) -> None:
    with service.admin() as admin:
        admin.post(
            "/admin/tenants",
            json={"ContextIdentifier": "Admin409", "Endpoint": "https://h/x", "State": "Suspended"},
        )
        response = admin.post(
            "/admin/tenants/Admin409/operations", json={"Operation": "upgrade-done"}
        )
    assert response.status_code == 409
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["CurrentState"] == "Suspended"
    assert "resume" in problem["AllowedOperations"]
    assert "Suspended" in problem["detail"] and "resume" in problem["detail"]


def test_operation_on_a_missing_tenant_is_409_pointing_at_provision(
    service: ServiceProcess,
) -> None:
    with service.admin() as admin:
        response = admin.post("/admin/tenants/NoSuch/operations", json={"Operation": "suspend"})
    assert response.status_code == 409
    assert response.json()["AllowedOperations"] == ["provision"]


def test_duplicate_create_is_409(service: ServiceProcess) -> None:
    body = {"ContextIdentifier": "AdminDup", "Endpoint": "https://h/x"}
    with service.admin() as admin:
        assert admin.post("/admin/tenants", json=body).status_code == 201
        again = admin.post("/admin/tenants", json=body)
    assert again.status_code == 409 and "already exists" in again.json()["detail"]


@pytest.mark.parametrize(
    "body",
    [
        {"ContextIdentifier": "1bad", "Endpoint": "https://h/x"},
        {"ContextIdentifier": "Ok1", "Endpoint": "not a url"},
        {"ContextIdentifier": "Ok1", "Endpoint": "https://h/x", "State": "Sleeping"},
        {"ContextIdentifier": "Ok1", "Endpoint": "https://h/x", "Color": "red"},
        {"ContextIdentifier": "Ok1", "Endpoint": "https://h/x", "At": "2020-01-01T00:00:00"},
        {"ContextIdentifier": "Ok1", "Endpoint": "https://h/x", "At": "2020-01-01T00:00:00Z"},
    ],
)
def test_invalid_bodies_are_422_problems(service: ServiceProcess, body: dict[str, object]) -> None:
    with service.admin() as admin:
        response = admin.post("/admin/tenants", json=body)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["detail"]


def test_malformed_json_is_a_problem_not_a_crash(service: ServiceProcess) -> None:
    with service.admin() as admin:
        response = admin.post(
            "/admin/tenants", content=b"{not json", headers={"content-type": "application/json"}
        )
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"


def test_oversized_bodies_are_refused_with_413(service: ServiceProcess) -> None:
    with service.admin() as admin:
        response = admin.post(
            "/admin/tenants",
            content=b"{" + b" " * 2_000_000 + b"}",
            headers={"content-type": "application/json"},
        )
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"


def test_list_pages_and_filters_by_state(service: ServiceProcess) -> None:
    tenants = [
        {"ContextIdentifier": f"Page{n}", "Endpoint": "https://h/x", "State": "MigrationPending"}
        for n in range(7)
    ]
    with service.admin() as admin:
        assert admin.post("/admin/tenants/import", json={"Tenants": tenants}).json() == {
            "Created": 7,
            "Skipped": 0,
        }
        seen: list[str] = []
        after = None
        while True:
            params: dict[str, str | int] = {
                "state": "MigrationPending",
                "limit": 3,
                **({"after": after} if after else {}),
            }
            page = admin.get("/admin/tenants", params=params).json()
            seen += [t["ContextIdentifier"] for t in page["Tenants"]]
            after = page["Next"]
            if after is None:
                break
        # The service is shared: other tests' tenants in that state may come between.
        assert [ctx for ctx in seen if ctx.startswith("Page")] == [f"Page{n}" for n in range(7)]
        assert len(seen) == len(set(seen))
        assert admin.get("/admin/tenants", params={"state": "Nope"}).status_code == 400


def test_import_skips_existing_tenants(service: ServiceProcess) -> None:
    batch = [{"ContextIdentifier": f"Imp{n}", "Endpoint": "https://h/x"} for n in range(3)]
    with service.admin() as admin:
        assert admin.post("/admin/tenants/import", json={"Tenants": batch}).json()["Created"] == 3
        again = admin.post("/admin/tenants/import", json={"Tenants": batch}).json()
    assert again == {"Created": 0, "Skipped": 3}
    assert httpx.get(f"{service.url}/api/state/Imp2").json()["State"] == "Provisioning"


def test_a_tenant_named_import_is_shown_at_the_path_of_the_bulk_import(
    fresh_service: ServiceProcess,
) -> None:
    service = fresh_service.start()
    with service.admin() as admin:
        assert admin.get("/admin/tenants/import").status_code == 404
        created = admin.post(
            "/admin/tenants", json={"ContextIdentifier": "import", "Endpoint": "https://h/import"}
        )
        assert created.status_code == 201
        shown = admin.get("/admin/tenants/import", params={"history": 1})
        assert shown.json()["Tenant"]["ContextIdentifier"] == "import"
        assert [h["Operation"] for h in shown.json()["History"]] == ["provision"]
        batch = [{"ContextIdentifier": "import", "Endpoint": "https://h/x"}]
        assert admin.post("/admin/tenants/import", json={"Tenants": batch}).json() == {
            "Created": 0,
            "Skipped": 1,
        }
    assert (
        '"ContextIdentifier": "import"' in service.cli("tenant", "show", "import", "--json").stdout
    )


def test_openapi_is_published(service: ServiceProcess) -> None:
    spec = httpx.get(f"{service.url}/openapi.json").json()
    assert "/admin/tenants/{ContextIdentifier}/operations" in spec["paths"]


def test_health_ready_and_metrics(service: ServiceProcess) -> None:
    assert httpx.get(f"{service.url}/healthz").json() == {"status": "ok"}
    assert httpx.get(f"{service.url}/readyz").json() == {"status": "ready"}
    httpx.get(f"{service.url}/api/state/Metrics1")
    metrics = httpx.get(f"{service.url}/metrics").text
    assert "tenantstatus_state_requests_total" in metrics
    assert 'tenantstatus_tenants{state="Running"}' in metrics
