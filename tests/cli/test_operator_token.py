"""Replacing a lost operator token, and saying at start which token holds: real service."""

from __future__ import annotations

import re
import subprocess
import time
from pathlib import Path

import httpx2 as httpx

from tests.support.processes import CLI, ServiceProcess


def without_configured_token(data_dir: Path) -> ServiceProcess:
    service = ServiceProcess(data_dir)
    del service.env["TENANTSTATUS_OPERATOR_TOKEN"]
    return service


def status_with(service: ServiceProcess, token: str) -> int:
    headers = {"Authorization": f"Bearer {token}"}
    return httpx.get(f"{service.url}/admin/tenants", headers=headers, timeout=10).status_code


def reset(data_dir: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, "operator-token", "reset", "--data-dir", str(data_dir)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_a_restart_without_the_variable_says_the_stored_token_holds(tmp_path: Path) -> None:
    service = without_configured_token(tmp_path / "data")
    service.start()
    try:
        found = re.search(r"generated the operator token \(shown once\): (tsop_\S+)", service.log())
        assert found is not None, service.log()
        assert "TENANTSTATUS_OPERATOR_TOKEN is not set" not in service.log()
        service.restart()
        assert status_with(service, found.group(1)) == 200
    finally:
        service.stop()
    assert "TENANTSTATUS_OPERATOR_TOKEN is not set" in service.log()
    assert "operator-token reset" in service.log()


def test_reset_replaces_the_token_of_a_running_service(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    service = without_configured_token(data_dir)
    service.start()
    try:
        found = re.search(r"\(shown once\): (tsop_\S+)", service.log())
        assert found is not None
        old = found.group(1)
        result = reset(data_dir, service.env)
        assert result.returncode == 0, result.stderr
        new = result.stdout.strip()
        assert new.startswith("tsop_") and new != old
        assert new not in result.stderr
        deadline = time.monotonic() + 15
        while status_with(service, new) != 200:
            assert time.monotonic() < deadline, "the running service kept the old token"
            time.sleep(0.1)
        assert status_with(service, old) == 401
        service.restart()
        assert status_with(service, new) == 200
        assert status_with(service, old) == 401
    finally:
        service.stop()
    assert new not in service.log()


def test_reset_refuses_a_data_directory_without_a_database(tmp_path: Path) -> None:
    result = reset(tmp_path / "nothing-here", {**without_configured_token(tmp_path).env})
    assert result.returncode == 2
    assert result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert line.startswith("error: no database at ") and "--data-dir" in line
    assert not (tmp_path / "nothing-here").exists()
