"""Database files and the data directory are private, with real files on disk."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from tenantstatus.store import SqlStore
from tenantstatus.store.private_files import NotPrivate, private_directory
from tests.store.test_contract import provision

pytestmark = pytest.mark.anyio


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def open_umask() -> Iterator[None]:
    """The umask most systems run with: files 0644, directories 0755."""
    before = os.umask(0o022)
    yield
    os.umask(before)


def sqlite_files(database: Path) -> list[Path]:
    return [
        database,
        database.with_name(database.name + "-wal"),
        database.with_name(database.name + "-shm"),
    ]


async def test_a_new_database_and_its_wal_and_shm_are_created_0600(
    tmp_path: Path, open_umask: None
) -> None:
    database = tmp_path / "new.db"
    store = SqlStore(f"sqlite+aiosqlite:///{database}")
    await store.open()
    try:
        await provision(store, "Cust1")
        files = sqlite_files(database)
        assert all(path.exists() for path in files)
        assert [mode(path) for path in files] == [0o600, 0o600, 0o600]
    finally:
        await store.close()


async def test_an_existing_world_readable_database_is_tightened_on_open(
    tmp_path: Path, open_umask: None
) -> None:
    database = tmp_path / "old.db"
    first = SqlStore(f"sqlite+aiosqlite:///{database}")
    await first.open()
    await provision(first, "Cust1")
    await first.close()
    database.chmod(0o644)
    # Left behind by a version that created them 0644 (a crash keeps the -wal).
    for side in sqlite_files(database)[1:]:
        side.touch(0o644)
        side.chmod(0o644)
    second = SqlStore(f"sqlite+aiosqlite:///{database}")
    await second.open()
    try:
        assert await second.get_tenant("Cust1") is not None
        assert [mode(path) for path in sqlite_files(database)] == [0o600, 0o600, 0o600]
    finally:
        await second.close()


def test_an_open_data_directory_is_tightened_to_0700_with_a_log_line(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    data = tmp_path / "data"
    data.mkdir(mode=0o755)
    data.chmod(0o755)
    private_directory(data)
    assert mode(data) == 0o700
    assert "tightened it to 0700" in caplog.text
    caplog.clear()
    private_directory(data)
    assert caplog.text == ""


def test_a_missing_data_directory_is_created_0700(tmp_path: Path, open_umask: None) -> None:
    data = tmp_path / "a" / "data"
    private_directory(data)
    assert mode(data) == 0o700


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a directory away needs root")
def test_an_open_directory_of_another_user_is_refused_not_changed(tmp_path: Path) -> None:
    data = tmp_path / "theirs"
    data.mkdir()
    data.chmod(0o755)
    os.chown(data, 65534, 65534)
    with pytest.raises(NotPrivate, match="chmod 0700 it"):
        private_directory(data)
    assert mode(data) == 0o755
