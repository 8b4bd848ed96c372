"""Schemathesis over the whole OpenAPI document of a real service: no server errors."""

from __future__ import annotations

from typing import Any

import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok

from tests.support.processes import ServiceProcess


def test_no_route_answers_a_server_error(service: ServiceProcess) -> None:
    schema = schemathesis.openapi.from_url(f"{service.url}/openapi.json")
    headers = {"Authorization": f"Bearer {service.token}"}
    tested: list[str] = []
    statuses: set[int] = set()
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), result
        operation = result.ok()

        @given(
            case=st.one_of(
                operation.as_strategy(generation_mode=GenerationMode.POSITIVE),
                operation.as_strategy(generation_mode=GenerationMode.NEGATIVE),
            )
        )
        @settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck))
        def fuzz(case: schemathesis.Case[Any]) -> None:
            response = case.call_and_validate(
                base_url=service.url, headers=headers, checks=[not_a_server_error]
            )
            statuses.add(response.status_code)

        fuzz()
        tested.append(operation.label)
    assert "GET /api/state/{ContextIdentifier}" in tested
    assert "POST /admin/tenants/{context_identifier}/operations" in tested
    assert len(tested) >= 11
    assert {200, 422} <= statuses and max(statuses) < 500
