"""Unsafe State Change URLs are refused when an application registers or changes its URL."""

from __future__ import annotations

import pytest

from tests.push.conftest import register
from tests.support.processes import ServiceProcess

UNSAFE = [
    "http://169.254.169.254/latest/meta-data",
    "http://10.0.0.1/hook",
    "http://192.168.1.1/hook",
    "http://100.64.0.1/hook",
    "http://[::ffff:10.0.0.1]/hook",
    "http://167772161/hook",  # 10.0.0.1 as one decimal number
    "http://012.0.0.1/hook",  # octal 10.0.0.1
    "http://0.0.0.0/hook",
    "http://[fe80::1]/hook",
    "http://224.0.0.1/hook",
    "ftp://127.0.0.1/hook",
    "http://user:pass@127.0.0.1/hook",
]


@pytest.mark.parametrize("url", UNSAFE)
def test_unsafe_urls_are_refused_with_422(push_service: ServiceProcess, url: str) -> None:
    with push_service.admin() as admin:
        response = admin.post("/admin/applications", json={"Name": "evil", "Url": url})
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["detail"]


def test_https_is_required_unless_http_is_allowed(service: ServiceProcess) -> None:
    with service.admin() as admin:
        response = admin.post(
            "/admin/applications", json={"Name": "plain", "Url": "http://example.com/hook"}
        )
    assert response.status_code == 422 and "https" in response.json()["detail"]


def test_loopback_is_refused_unless_allowed(service: ServiceProcess) -> None:
    with service.admin() as admin:
        response = admin.post(
            "/admin/applications", json={"Name": "local", "Url": "https://127.0.0.1/hook"}
        )
    assert response.status_code == 422 and "127.0.0.1" in response.json()["detail"]


def test_set_url_is_checked_too(push_service: ServiceProcess) -> None:
    app = register(push_service, "http://127.0.0.1:9/ok/x")
    with push_service.admin() as admin:
        response = admin.put(
            f"/admin/applications/{app.id}/url", json={"Url": "http://169.254.169.254/"}
        )
    assert response.status_code == 422
