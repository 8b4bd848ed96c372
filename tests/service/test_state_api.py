"""The public state API, end to end against a real `tenantstatus serve` on loopback."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

import httpx2 as httpx
import pytest

from tenantstatus.model import TenantStatus, parse_instant
from tests.support.processes import ServiceProcess

KEYS = ["ContextIdentifier", "Endpoint", "State", "IsRunning", "ValidUntil", "Api", "Version"]


def create(service: ServiceProcess, ctx: str, **extra: object) -> None:
    body = {"ContextIdentifier": ctx, "Endpoint": f"https://sod2.example.com/{ctx}", **extra}
    with service.admin() as admin:
        response = admin.post("/admin/tenants", json=body)
    assert response.status_code == 201, response.text


def operate(service: ServiceProcess, ctx: str, operation: str, **params: object) -> httpx.Response:
    with service.admin() as admin:
        return admin.post(
            f"/admin/tenants/{ctx}/operations", json={"Operation": operation, **params}
        )


def test_answer_has_the_exact_keys_in_order(service: ServiceProcess) -> None:
    create(
        service,
        "StateOrder",
        State="Running",
        VersionDocument={"NetServerLabel": "Release_11.10_2026.02.24-02"},
    )
    response = httpx.get(f"{service.url}/api/state/StateOrder")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    document = json.loads(response.content)
    assert list(document) == KEYS
    assert document["Endpoint"] == "https://sod2.example.com/StateOrder"
    assert document["Api"] == document["Endpoint"] + "/api"
    assert document["IsRunning"] is True
    assert document["Version"] == "Release_11.10_2026.02.24-02"
    assert TenantStatus.from_json(response.content).to_json() == response.content


def test_valid_until_is_ttl_ahead_with_seven_digits_and_max_age_matches(
    service: ServiceProcess,
) -> None:
    create(service, "StateTtl", State="Running")
    before = datetime.now(UTC)
    response = httpx.get(f"{service.url}/api/state/StateTtl")
    text = response.json()["ValidUntil"]
    assert len(text.split(".")[1]) == 8 and text.endswith("Z")
    ahead = (parse_instant(text) - before).total_seconds()
    assert 58 <= ahead <= 61
    max_age = int(response.headers["cache-control"].split("max-age=")[1])
    assert 58 <= max_age <= 60


def test_version_is_left_out_when_unknown(service: ServiceProcess) -> None:
    create(service, "StateNoVersion")
    assert "Version" not in httpx.get(f"{service.url}/api/state/StateNoVersion").json()


def test_unknown_tenant_answers_200_unknown(service: ServiceProcess) -> None:
    response = httpx.get(f"{service.url}/api/state/Cust404404")
    assert response.status_code == 200
    document = response.json()
    assert (document["ContextIdentifier"], document["State"], document["IsRunning"]) == (
        "Cust404404",
        "Unknown",
        False,
    )


@pytest.mark.parametrize("bad", ["1abc", "a%20b", "x" * 65, "a.b", "%C3%87"])
def test_id_breaking_the_pattern_answers_400_problem(service: ServiceProcess, bad: str) -> None:
    response = httpx.get(f"{service.url}/api/state/{bad}")
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["status"] == 400


def test_head_answers_headers_without_a_body(service: ServiceProcess) -> None:
    create(service, "StateHead", State="Running")
    get = httpx.get(f"{service.url}/api/state/StateHead")
    head = httpx.head(f"{service.url}/api/state/StateHead")
    assert head.status_code == 200 and head.content == b""
    assert head.headers["etag"] == get.headers["etag"]
    assert int(head.headers["content-length"]) == len(get.content)


def test_etag_revalidates_with_304_until_the_state_changes(service: ServiceProcess) -> None:
    create(service, "StateEtag", State="Running")
    first = httpx.get(f"{service.url}/api/state/StateEtag")
    etag = first.headers["etag"]
    again = httpx.get(f"{service.url}/api/state/StateEtag", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    assert "max-age=" in again.headers["cache-control"]
    assert operate(service, "StateEtag", "suspend").status_code == 200
    changed = httpx.get(f"{service.url}/api/state/StateEtag", headers={"If-None-Match": etag})
    assert changed.status_code == 200
    assert changed.json()["State"] == "Suspended" and changed.json()["IsRunning"] is False
    assert changed.headers["etag"] != etag


def test_other_methods_are_refused_with_405(service: ServiceProcess) -> None:
    response = httpx.post(f"{service.url}/api/state/Cust1")
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, HEAD"


def test_an_operation_shows_in_the_state_api_at_once(service: ServiceProcess) -> None:
    create(service, "StateNow", State="Running")
    assert (
        operate(
            service, "StateNow", "move", Endpoint="https://sod3.example.com/StateNow"
        ).status_code
        == 200
    )
    document = httpx.get(f"{service.url}/api/state/StateNow").json()
    assert document["Endpoint"] == "https://sod3.example.com/StateNow"
    assert document["Api"] == "https://sod3.example.com/StateNow/api"


def test_valid_until_never_passes_the_next_scheduled_operation(service: ServiceProcess) -> None:
    create(service, "StateWindow", State="Running")
    at = datetime.fromtimestamp(time.time() + 20, UTC)
    with service.admin() as admin:
        scheduled = admin.post(
            "/admin/tenants/StateWindow/operations",
            json={"Operation": "maintenance-offline", "At": at.isoformat()},
        )
    assert scheduled.status_code == 202
    response = httpx.get(f"{service.url}/api/state/StateWindow")
    valid_until = parse_instant(response.json()["ValidUntil"])
    assert abs((valid_until - at).total_seconds()) < 0.01
    assert int(response.headers["cache-control"].split("max-age=")[1]) <= 20
    with service.admin() as admin:
        assert admin.delete(f"/admin/schedule/{scheduled.json()['Id']}").status_code == 200
    uncapped = parse_instant(httpx.get(f"{service.url}/api/state/StateWindow").json()["ValidUntil"])
    assert (uncapped - at).total_seconds() > 30


def _complete_answers(data: bytes) -> int:
    """How many whole answers (head and Content-Length body) `data` holds."""
    count = 0
    while True:
        head, found, rest = data.partition(b"\r\n\r\n")
        if not found:
            return count
        length = 0
        for line in head.lower().split(b"\r\n"):
            if line.startswith(b"content-length:"):
                length = int(line.partition(b":")[2])
        if len(rest) < length:
            return count
        count += 1
        data = rest[length:]


def _raw(service: ServiceProcess, request: bytes) -> bytes:
    """Send raw bytes; read until every request has its whole answer, or the peer closes."""
    import socket

    expected = request.count(b"GET") + request.count(b"POST")
    with socket.create_connection(("127.0.0.1", service.port), timeout=5) as sock:
        sock.sendall(request)
        received = b""
        while _complete_answers(received) < expected:
            try:
                chunk = sock.recv(65536)
            except TimeoutError:
                break
            if not chunk:
                break
            received += chunk
        return received


def test_pipelined_requests_are_answered_in_order(service: ServiceProcess) -> None:
    create(service, "Pipe1", State="Running")
    create(service, "Pipe2", State="Suspended")
    answer = _raw(
        service,
        b"GET /api/state/Pipe1 HTTP/1.1\r\nHost: x\r\n\r\n"
        b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
        b"GET /api/state/Pipe2 HTTP/1.1\r\nHost: x\r\n\r\n",
    )
    assert answer.count(b"HTTP/1.1 200 OK") == 3, answer
    assert b'"status":"ok"' in answer, answer
    first, health, second = (
        answer.index(b'"Pipe1"'),
        answer.index(b'"status":"ok"'),
        answer.index(b'"Pipe2"'),
    )
    assert first < health < second


def test_http_1_0_gets_its_answer_and_the_connection_closed(service: ServiceProcess) -> None:
    create(service, "Http10", State="Running")
    answer = _raw(service, b"GET /api/state/Http10 HTTP/1.0\r\n\r\n")
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200") and b"connection: close" in head.lower()
    assert json.loads(body)["ContextIdentifier"] == "Http10"


def test_percent_encoded_and_query_forms_are_still_answered(service: ServiceProcess) -> None:
    create(service, "Quoted1", State="Running")
    assert httpx.get(f"{service.url}/api/state/Quoted%31").json()["ContextIdentifier"] == "Quoted1"
    assert httpx.get(f"{service.url}/api/state/Quoted1?x=1").json()["State"] == "Running"
