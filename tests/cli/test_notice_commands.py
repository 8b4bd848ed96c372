"""Operator messages through the CLI and the operator API, against a real service."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.cli.running import error_line
from tests.support.processes import ServiceProcess


def in_hours(hours: float) -> str:
    return f"{datetime.now(UTC) + timedelta(hours=hours):%Y-%m-%dT%H:%M:%SZ}"


def cli_json(service: ServiceProcess, *args: str) -> Any:
    return json.loads(service.cli(*args, "--json").stdout)


def add(service: ServiceProcess, ctx: str, host: str) -> None:
    body = {"ContextIdentifier": ctx, "Endpoint": f"https://{host}/{ctx}", "State": "Running"}
    api(service, "POST", "/admin/tenants", body)


def api(service: ServiceProcess, method: str, path: str, body: Any = None) -> Any:
    with service.admin() as admin:
        response = admin.request(method, path, json=body)
    assert response.status_code < 300, response.text
    return response.json()


def test_an_operation_message_takes_notes_and_ends_with_the_operation(
    service: ServiceProcess,
) -> None:
    add(service, "MsgOne", "sodmsg1.example.com")
    until = in_hours(1)
    service.cli(
        "tenant", "op", "MsgOne", "upgrade", "--version-name", "Release 11.12",
        "--file-version", "11.12.0", "--message", "Upgrading to 11.12", "--until", until,
    )  # fmt: skip
    noted = cli_json(
        service, "tenant", "note", "MsgOne", "Schema step done", "--until", in_hours(2)
    )
    assert noted["Status"] == "open" and noted["Operation"] == "upgrade"
    assert noted["Body"] == "Upgrading to 11.12"
    assert [u["Body"] for u in noted["Updates"]] == ["Schema step done"]
    assert noted["Until"] > until
    readable = service.cli("tenant", "note", "MsgOne", "[bold]Almost[/bold] there").stdout
    assert f"notice #{noted['Id']} on MsgOne: 2 update(s)" in readable
    shown = service.cli("notice", "show", str(noted["Id"])).stdout
    assert "[bold]Almost[/bold] there" in shown  # printed as written, not as markup
    api(service, "POST", "/admin/tenants/MsgOne/operations", {"Operation": "upgrade-done"})
    done = api(service, "GET", f"/admin/notices/{noted['Id']}")
    assert (done["Status"], done["Resolution"]) == ("resolved", "finished")
    refused = service.cli("tenant", "note", "MsgOne", "too late", check=False)
    assert "MsgOne has no open notice" in error_line(refused, 1)


def test_a_scheduled_operation_carries_its_message_until_it_is_cancelled(
    service: ServiceProcess,
) -> None:
    add(service, "MsgTwo", "sodmsg2.example.com")
    at = in_hours(5)
    planned = cli_json(
        service, "tenant", "op", "MsgTwo", "maintenance-offline", "--at", at,
        "--message", "Disk replacement", "--until", in_hours(6),
    )  # fmt: skip
    with service.admin() as admin:
        listed = admin.get("/admin/notices").json()["Notices"]
        mine = [n for n in listed if n["ScheduledId"] == planned["Id"]]
        assert [n["Status"] for n in mine] == ["planned"]
        admin.delete(f"/admin/schedule/{planned['Id']}")
        after = admin.get(f"/admin/notices/{mine[0]['Id']}").json()
    assert after["Resolution"] == "cancelled"


def test_a_host_notice_is_posted_updated_listed_and_resolved(service: ServiceProcess) -> None:
    posted = cli_json(
        service, "notice", "post", "--host", "SODMSG3.example.com", "sod3 is degraded",
        "--until", in_hours(1),
    )  # fmt: skip
    assert (posted["Scope"], posted["Host"]) == ("host", "sodmsg3.example.com")
    number = str(posted["Id"])
    service.cli("notice", "update", number, "Failover done")
    add(service, "MsgOnSod3", "sodmsg3.example.com")
    detail = cli_json(service, "tenant", "show", "MsgOnSod3")
    assert [n["Id"] for n in detail["Notices"]] == [posted["Id"]]
    shown = service.cli("tenant", "show", "MsgOnSod3").stdout
    assert "every tenant on sodmsg3.example.com" in shown
    listed = service.cli("notice", "list").stdout
    assert "every tenant on sodmsg3.example.com" in listed
    resolved = cli_json(service, "notice", "resolve", number, "All clear")
    assert resolved["Status"] == "resolved"
    assert [u["Body"] for u in resolved["Updates"]] == ["Failover done", "All clear"]
    every = api(service, "GET", "/admin/notices?status=all")["Notices"]
    assert posted["Id"] in [n["Id"] for n in every]
    assert posted["Id"] not in [n["Id"] for n in api(service, "GET", "/admin/notices")["Notices"]]
    again = service.cli("notice", "resolve", number, check=False)
    assert f"no open notice {number}" in error_line(again, 1)


def test_a_list_notice_names_its_tenants(service: ServiceProcess) -> None:
    posted = cli_json(
        service, "notice", "post", "--tenant", "MsgL2", "--tenant", "MsgL1", "Mail is delayed"
    )
    assert (posted["Scope"], posted["ContextIdentifiers"]) == ("tenants", ["MsgL1", "MsgL2"])
    single = api(
        service, "POST", "/admin/notices", {"Body": "Slow", "ContextIdentifiers": ["MsgL3"]}
    )
    assert (single["Scope"], single["ContextIdentifier"]) == ("tenant", "MsgL3")


def test_bad_messages_and_instants_are_one_line_errors(service: ServiceProcess) -> None:
    add(service, "MsgBad", "sodmsg4.example.com")
    cases = [
        (("tenant", "op", "MsgBad", "suspend", "--until", in_hours(1)), 2, "--until is the"),
        (("tenant", "op", "MsgBad", "suspend", "--message", "x", "--until", "soon"), 2, "soon"),
        (("notice", "post", "x"), 2, "--host HOST or one or more --tenant"),
        (
            ("tenant", "op", "MsgBad", "suspend", "--message", "x", "--until", in_hours(-1)),
            1,
            "Until must lie after",
        ),
    ]
    for args, code, words in cases:
        line = error_line(service.cli(*args, check=False), code)
        assert words in line, (args, line)
    with service.admin() as admin:
        control = admin.post("/admin/notices", json={"Body": "a\x1bb", "Host": "h.example.com"})
        both = admin.post(
            "/admin/notices",
            json={"Body": "x", "Host": "h.example.com", "ContextIdentifiers": ["MsgBad"]},
        )
        unknown = admin.post("/admin/tenants/NoSuchMsg/notes", json={"Body": "x"})
        blank = admin.post("/admin/notices", json={"Body": "  ", "Host": "h.example.com"})
        bad_host = admin.post("/admin/notices", json={"Body": "x", "Host": "a b"})
    assert control.status_code == 422 and "plain text" in control.text
    assert both.status_code == 422 and "exactly one of" in both.text
    assert unknown.status_code == 404
    assert blank.status_code == 422 and "must not be empty" in blank.text
    assert bad_host.status_code == 422 and "host name" in bad_host.text
