"""What the OpenAPI document promises a reader, and the answers it promises, on a real serve."""

from __future__ import annotations

import re
from typing import Any

import httpx2 as httpx
import pytest

from tests.support.processes import ServiceProcess


def _operations(service: ServiceProcess) -> list[tuple[str, str, dict[str, Any]]]:
    document = httpx.get(f"{service.url}/openapi.json").json()
    return [
        (path, method, operation)
        for path, methods in document["paths"].items()
        for method, operation in methods.items()
    ]


def test_every_route_has_a_written_summary_and_description(service: ServiceProcess) -> None:
    operations = _operations(service)
    assert len(operations) >= 34
    for path, method, operation in operations:
        label = f"{method.upper()} {path}"
        summary, description = operation.get("summary", ""), operation.get("description", "")
        # FastAPI's generated summary is the function name in title case ("Set Url").
        generated = operation["operationId"].split("_admin_")[0].replace("_", " ").title()
        assert summary and summary != generated, label
        assert len(description) > len(summary), label


def test_path_parameters_carry_the_wire_names(service: ServiceProcess) -> None:
    for path, _, operation in _operations(service):
        for name in re.findall(r"{([^}]+)}", path):
            assert re.fullmatch(r"[A-Z][A-Za-z]+", name), path
        for parameter in operation.get("parameters", []):
            if parameter["in"] == "path" and parameter["name"] == "ContextIdentifier":
                assert parameter["schema"]["pattern"].startswith("^[A-Za-z]"), path


def test_every_error_is_documented_as_a_problem(service: ServiceProcess) -> None:
    for path, method, operation in _operations(service):
        for status, response in operation["responses"].items():
            content = response.get("content", {})
            if status[0] in "45" and "text/html" not in content:
                assert list(content) == ["application/problem+json"], (method, path, status)
        if "security" in operation:
            assert "401" in operation["responses"], (method, path)


def test_a_path_a_template_also_matches_declares_every_method_answered_there(
    service: ServiceProcess,
) -> None:
    """OpenAPI matches a concrete path before a template, so a method the template answers
    at that path must be declared on the concrete path too, or it would be hidden."""
    document = httpx.get(f"{service.url}/openapi.json").json()
    paths: dict[str, dict[str, Any]] = document["paths"]
    overlaps = []
    for template, methods in paths.items():
        patterns = {
            p["name"]: p["schema"].get("pattern", ".*")
            for operation in methods.values()
            for p in operation.get("parameters", [])
            if p["in"] == "path"
        }
        shape = re.sub(r"{([^}]+)}", r"(?P<\1>[^/]+)", template)
        for concrete in (path for path in paths if "{" not in path):
            found = re.fullmatch(shape, concrete)
            if found is None or "{" not in template:
                continue
            if all(re.search(patterns[name], value) for name, value in found.groupdict().items()):
                overlaps.append(concrete)
                assert set(methods) <= set(paths[concrete]), (concrete, template)
    assert overlaps == ["/admin/tenants/import"]  # "import" is a valid ContextIdentifier


def test_examples_are_realistic_not_placeholders(service: ServiceProcess) -> None:
    text = httpx.get(f"{service.url}/openapi.json").text
    assert '"Cust12345"' in text
    assert "Release 11.10 R02" in text
    assert "https://online2.superoffice.com/Cust12345" in text
    assert '"provision"' not in re.sub(r'"enum":\s*\[[^\]]*\]', "", text)


@pytest.mark.parametrize(
    ("path", "allow"),
    [
        ("/admin/tenants", "GET, POST"),
        ("/admin/tenants/import", "GET, POST"),  # GET: the tenant named import
        ("/admin/schedule/1", "GET, DELETE"),
        ("/admin/applications/app_0123456789abcdef/approvals/Cust1", "PUT, DELETE"),
        ("/api/state/Cust1", "GET, HEAD"),
    ],
)
def test_405_names_every_method_of_the_resource(
    service: ServiceProcess, path: str, allow: str
) -> None:
    with service.admin() as admin:
        answer = admin.request("PATCH", path)
    assert answer.status_code == 405
    assert answer.headers["allow"] == allow
    assert answer.headers["content-type"] == "application/problem+json"


def test_a_body_that_is_not_utf8_is_the_same_422_as_bad_json(service: ServiceProcess) -> None:
    with service.admin() as admin:
        for body in (b"\xff\xfe\x00{", b"{not json", b"\xdd\xae\xff\x1f"):
            answer = admin.post(
                "/admin/tenants", content=body, headers={"content-type": "application/json"}
            )
            assert answer.status_code == 422, body
            assert answer.headers["content-type"] == "application/problem+json"
