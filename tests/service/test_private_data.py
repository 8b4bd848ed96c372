"""A real service keeps its data private: directory 0700, database files 0600."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from tests.support.processes import ServiceProcess


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_service_tightens_an_open_data_dir_and_creates_its_database_0600(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    data.chmod(0o755)
    service = ServiceProcess(data)
    before = os.umask(0o022)  # the service inherits the usual umask
    try:
        service.start()
    finally:
        os.umask(before)
    try:
        with service.admin() as admin:
            created = admin.post(
                "/admin/tenants",
                json={"ContextIdentifier": "Private1", "Endpoint": "https://sod.example.com/P1"},
            )
        assert created.status_code == 201, created.text
        database = data / "tenantstatus.db"
        files = [database, data / "tenantstatus.db-wal", data / "tenantstatus.db-shm"]
        assert [mode(path) for path in files] == [0o600, 0o600, 0o600]
        assert mode(data / "secret.key") == 0o600
        assert mode(data) == 0o700
    finally:
        service.stop()
    assert "had mode 0755, open to group or others; tightened it to 0700" in service.log()
