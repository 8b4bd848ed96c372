"""The push CLI (app, deliveries, keys) as subprocesses against a real service."""

from __future__ import annotations

import json

import httpx2 as httpx

from tests.push.conftest import tenant
from tests.support.processes import ServiceProcess
from tests.support.receivers import Receiver


def test_app_lifecycle_through_the_cli(push_service: ServiceProcess, receiver: Receiver) -> None:
    created = json.loads(
        push_service.cli(
            "app", "add", "CliApp", "--url", f"{receiver.url}/ok/cli-app", "--json"
        ).stdout
    )
    app_id = created["Application"]["Id"]
    assert created["Token"].startswith("tsapp_") and created["Secret"].startswith("whsec_")
    human = push_service.cli("app", "add", "Human", "--url", f"{receiver.url}/ok/cli-h").stdout
    assert "API token (shown once)" in human and "webhook secret (shown once)" in human
    tenant(push_service, "CliPush")
    assert "CliPush approved" in push_service.cli("app", "approve", app_id, "CliPush").stdout
    push_service.cli("tenant", "op", "CliPush", "suspend")
    receiver.wait_for("cli-app", 1)
    listed = json.loads(push_service.cli("deliveries", "list", "--app", app_id, "--json").stdout)
    (delivery,) = listed["Deliveries"]
    shown = json.loads(push_service.cli("deliveries", "show", delivery["Id"], "--json").stdout)
    assert shown["Attempts"][0]["StatusCode"] == 200
    assert "queued again" in push_service.cli("deliveries", "redeliver", delivery["Id"]).stdout
    assert receiver.wait_for("cli-app", 2)[1].headers["webhook-id"] == delivery["Id"]
    rotated = json.loads(push_service.cli("app", "rotate-secret", app_id, "--json").stdout)
    assert rotated["Secret"] != created["Secret"] and rotated["Token"] is None
    moved = push_service.cli("app", "set-url", app_id, f"{receiver.url}/ok/cli-moved", "--json")
    assert json.loads(moved.stdout)["Url"].endswith("/ok/cli-moved")
    apps = push_service.cli("app", "list").stdout
    assert app_id in apps and "CliApp" in apps
    assert "CliPush revoked" in push_service.cli("app", "revoke", app_id, "CliPush").stdout
    recovered = push_service.cli(
        "deliveries", "recover", app_id, "--since", "2026-01-01T00:00:00Z", "--json"
    )
    assert json.loads(recovered.stdout) == {"Recovered": 0}


def test_keys_rotate_now_prints_the_new_kid(push_service: ServiceProcess) -> None:
    before = json.loads(push_service.cli("keys", "list", "--json").stdout)["Keys"]
    out = push_service.cli("keys", "rotate", "--now").stdout
    after = json.loads(push_service.cli("keys", "list", "--json").stdout)["Keys"]
    active = next(k for k in after if k["Active"])
    assert active["Kid"] in out and active["Kid"] not in {k["Kid"] for k in before}


def test_keys_rotate_publishes_first_and_now_overrides_a_pending_key(
    push_service: ServiceProcess,
) -> None:
    signing = _active_kid(push_service)
    out = push_service.cli("keys", "rotate").stdout
    pending = json.loads(push_service.cli("keys", "list", "--json").stdout)["Keys"][-1]
    assert f"published {pending['Kid']}" in out and f"{signing} signs until then" in out
    assert _active_kid(push_service) == signing, "the new key waits out the publish delay"
    jwks = httpx.get(f"{push_service.url}/.well-known/jwks.json")
    assert pending["Kid"] in {k["kid"] for k in jwks.json()["keys"]}
    assert jwks.headers["cache-control"] == "public, max-age=300"
    out = push_service.cli("keys", "rotate", "--now").stdout
    now_signing = _active_kid(push_service)
    assert now_signing not in {signing, pending["Kid"]}
    assert f"now signing with {now_signing}" in out


def _active_kid(service: ServiceProcess) -> str:
    keys = json.loads(service.cli("keys", "list", "--json").stdout)["Keys"]
    kid: str = next(k["Kid"] for k in keys if k["Active"])
    return kid


def test_unsafe_url_is_one_clear_line(push_service: ServiceProcess) -> None:
    result = push_service.cli(
        "app", "add", "Evil", "--url", "http://169.254.169.254/latest", check=False
    )
    assert result.returncode == 1
    assert result.stderr.startswith("error: Not acceptable (422)")
    assert "Traceback" not in result.stderr
