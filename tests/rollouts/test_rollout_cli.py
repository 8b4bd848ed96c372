"""`tenantstatus rollout ...` against a real service: create, list, show, control, refusals."""

from __future__ import annotations

import json
from pathlib import Path

from tests.rollouts.support import add_tenants
from tests.support.processes import ServiceProcess


def test_create_by_file_and_state_then_list_show_and_abort(
    service: ServiceProcess, tmp_path: Path
) -> None:
    ids = add_tenants(service, "rcli.example.com", 5)
    listed = tmp_path / "tenants.txt"
    listed.write_text("# tonight\n" + "\n".join(ids[:3]) + "\n\nNoSuchTenant\n")
    created = service.cli(
        "rollout", "create", "upgrade", "--from-file", str(listed), "--state", "Running",
        "--version-name", "Release 11.11", "--file-version", "11.11.0",
        "--start", "+10m", "--window-end", "+2h", "--batch-size", "2",
        "--expected-duration", "15m", "--message", "Upgrading <tonight>",
    )  # fmt: skip
    assert "over 3 tenants in 2 waves of 2, at most 2 in progress" in created.stdout
    rollout_id = created.stdout.split("#")[1].split(":")[0]
    shown = json.loads(service.cli("rollout", "show", rollout_id, "--json").stdout)
    assert shown["Selection"] == {"State": "Running", "FromFile": 4}
    assert shown["TenantCount"] == 3
    assert shown["Message"] == "Upgrading <tonight>" and shown["ExpectedDuration"] == 900
    table = service.cli("rollout", "list").stdout
    assert rollout_id in table and "scheduled" in table
    text = service.cli("rollout", "show", rollout_id, "--watch").stdout  # not a TTY: once
    assert "3 planned, 0 in progress, 0 done, 0 late, 0 refused" in text
    aborted = service.cli("rollout", "abort", rollout_id).stdout
    assert "aborted" in aborted and "3 cancelled" in aborted
    again = service.cli("rollout", "abort", rollout_id, check=False)
    assert again.returncode == 1 and again.stderr.count("\n") == 1
    assert f"rollout {rollout_id} is aborted already" in again.stderr


def test_a_plan_too_long_for_its_window_is_one_line_with_the_arithmetic(
    service: ServiceProcess,
) -> None:
    add_tenants(service, "rclifit.example.com", 7)
    refused = service.cli(
        "rollout", "create", "suspend", "--host", "rclifit.example.com",
        "--start", "+1m", "--window-end", "+31m", "--batch-size", "2",
        "--expected-duration", "10m",
    check=False)  # fmt: skip
    assert refused.returncode == 1
    assert refused.stderr.startswith("error: ") and refused.stderr.count("\n") == 1
    assert "7 tenants in 4 waves of 2: 4 × 10m = 40m exceeds the window of 30m" in refused.stderr  # noqa: RUF001


def test_a_bad_duration_is_a_usage_error(service: ServiceProcess) -> None:
    bad = service.cli("rollout", "create", "suspend", "--expected-duration", "soon", check=False)
    assert bad.returncode == 2
    assert "--expected-duration 'soon' is not a duration such as 900, 15m or 1h30m" in bad.stderr
