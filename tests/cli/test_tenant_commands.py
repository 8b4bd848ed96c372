"""The operator CLI as a subprocess against a real service."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx2 as httpx

from tests.support.processes import ServiceProcess


def test_add_op_show_and_list_as_json(service: ServiceProcess) -> None:
    added = service.cli(
        "tenant",
        "add",
        "CliOne",
        "--endpoint",
        "https://sod1.example.com/CliOne",
        "--state",
        "Running",
        "--version-name",
        "R1",
        "--file-version",
        "1.0",
        "--json",
    )
    assert json.loads(added.stdout)["Tenant"]["State"] == "Running"
    upgraded = service.cli(
        "tenant",
        "op",
        "CliOne",
        "upgrade",
        "--version-name",
        "R2",
        "--file-version",
        "2.0",
        "--json",
    )
    assert json.loads(upgraded.stdout)["History"]["ChangeType"] == "Upgrade"
    assert httpx.get(f"{service.url}/api/state/CliOne").json()["State"] == "OfflineMaintenance"
    service.cli("tenant", "op", "CliOne", "upgrade-done")
    shown = json.loads(service.cli("tenant", "show", "CliOne", "--json").stdout)
    assert shown["Tenant"]["VersionName"] == "R2"
    assert [h["Operation"] for h in shown["History"]] == ["upgrade-done", "upgrade", "provision"]
    listed = json.loads(service.cli("tenant", "list", "--state", "Running", "--json").stdout)
    assert "CliOne" in [t["ContextIdentifier"] for t in listed["Tenants"]]


def test_readable_output_without_json(service: ServiceProcess) -> None:
    added = service.cli(
        "tenant", "add", "CliTwo", "--endpoint", "https://h/CliTwo", "--state", "Running"
    )
    assert added.stdout == "CliTwo: provisioned in state Running\n"
    result = service.cli("tenant", "op", "CliTwo", "suspend")
    assert "CliTwo: suspend Running -> Suspended, announces Suspend" in result.stdout
    shown = service.cli("tenant", "show", "CliTwo").stdout
    assert "Suspended" in shown and "allowed now:" in shown


def test_refused_operation_prints_one_line_and_exits_nonzero(service: ServiceProcess) -> None:
    service.cli("tenant", "add", "CliThree", "--endpoint", "https://h/x", "--state", "Suspended")
    result = service.cli("tenant", "op", "CliThree", "suspend", check=False)
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("error: Operation not allowed (409)")
    assert "Traceback" not in result.stderr


def test_a_409_says_what_happened_then_what_to_do(service: ServiceProcess) -> None:
    service.cli("tenant", "add", "Cli409", "--endpoint", "https://h/x", "--state", "Suspended")
    refused = service.cli("tenant", "op", "Cli409", "suspend", check=False)
    happened, _, to_do = refused.stderr.partition("; ")
    assert happened == "error: Operation not allowed (409): suspend is not allowed from Suspended"
    assert to_do.startswith("run one of the operations allowed now instead: restore, resume, ")
    assert to_do.endswith("(tenantstatus tenant op Cli409 OPERATION)\n")
    exists = service.cli("tenant", "add", "Cli409", "--endpoint", "https://h/x", check=False)
    assert exists.stderr.startswith(
        "error: Operation not allowed (409): tenant Cli409 already exists (state Suspended); "
        "change it with 'tenantstatus tenant op Cli409 OPERATION', "
        "OPERATION one of: restore, resume, "
    )
    missing = service.cli("tenant", "op", "Cli409None", "suspend", check=False)
    assert missing.stderr == (
        "error: Operation not allowed (409): tenant Cli409None does not exist; provision it "
        "first with 'tenantstatus tenant add Cli409None --endpoint URL'\n"
    )
    service.cli("tenant", "op", "Cli409", "delete")
    service.cli("tenant", "op", "Cli409", "delete-done")
    deleted = service.cli("tenant", "op", "Cli409", "resume", check=False)
    assert deleted.stderr == (
        "error: Operation not allowed (409): resume is not allowed from Deleted; "
        "no operation is allowed from Deleted\n"
    )
    for result in (refused, exists, missing, deleted):
        assert result.returncode == 1 and result.stderr.count("\n") == 1


def test_bad_input_is_one_clear_line(service: ServiceProcess, tmp_path: Path) -> None:
    bad_at = service.cli("tenant", "op", "CliX", "suspend", "--at", "tomorrow", check=False)
    assert bad_at.returncode != 0 and "ISO-8601" in bad_at.stderr
    missing = service.cli("tenant", "import", str(tmp_path / "nope.jsonl"), check=False)
    assert missing.returncode != 0 and "cannot read" in missing.stderr
    unreachable = service.cli("--url", "http://127.0.0.1:9", "tenant", "list", check=False)
    assert unreachable.returncode == 3 and "cannot reach the service" in unreachable.stderr
    for result in (bad_at, missing, unreachable):
        assert "Traceback" not in result.stderr


def test_wrong_token_is_reported(service: ServiceProcess) -> None:
    result = service.cli("--token", "wrong", "tenant", "list", check=False)
    assert result.returncode == 1 and "Unauthorized (401)" in result.stderr


def test_schedule_list_and_cancel(service: ServiceProcess) -> None:
    service.cli("tenant", "add", "CliSched", "--endpoint", "https://h/x", "--state", "Running")
    at = (datetime.now(UTC) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    scheduled = json.loads(
        service.cli("tenant", "op", "CliSched", "suspend", "--at", at, "--json").stdout
    )
    listed = json.loads(
        service.cli("tenant", "schedule", "list", "--tenant", "CliSched", "--json").stdout
    )
    assert [s["Id"] for s in listed["Scheduled"]] == [scheduled["Id"]]
    cancelled = service.cli("tenant", "schedule", "cancel", str(scheduled["Id"]))
    assert f"cancelled #{scheduled['Id']}" in cancelled.stdout
    again = service.cli("tenant", "schedule", "cancel", str(scheduled["Id"]), check=False)
    assert again.returncode == 1 and "no pending scheduled operation" in again.stderr


def test_import_reads_json_lines_and_reports_progress(
    service: ServiceProcess, tmp_path: Path
) -> None:
    path = tmp_path / "tenants.jsonl"
    lines = [
        json.dumps(
            {"ContextIdentifier": f"Bulk{n}", "Endpoint": f"https://h/Bulk{n}", "State": "Running"}
        )
        for n in range(12_000)
    ]
    path.write_text("\n".join(lines) + "\n")
    result = service.cli("tenant", "import", str(path), "--json")
    assert json.loads(result.stdout) == {"Created": 12_000, "Skipped": 0, "Read": 12_000}
    assert httpx.get(f"{service.url}/api/state/Bulk11999").json()["IsRunning"] is True
    human = service.cli("tenant", "import", str(path))
    assert "skipped 12000" in human.stdout and "12000/12000" in human.stdout


def test_import_names_the_bad_line(service: ServiceProcess, tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"ContextIdentifier":"Ok","Endpoint":"https://h/x"}\n{oops\n')
    result = service.cli("tenant", "import", str(path), check=False)
    assert result.returncode == 2 and f"{path}:2: not JSON" in result.stderr


def test_usage_errors_exit_2_without_a_traceback(service: ServiceProcess) -> None:
    for args in (("tenant", "list", "--bogus"), ("tenant", "op", "OnlyOneArgument")):
        result = service.cli(*args, check=False)
        assert result.returncode == 2, args
        assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1
        assert "usage: tenantstatus tenant" in result.stderr and "Traceback" not in result.stderr
