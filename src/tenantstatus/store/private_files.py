"""Files that hold secrets stay private: the data directory 0700, database files 0600.

The database holds sealed secrets and token hashes. SQLite creates its -wal and -shm
files with the mode of the database file, so a database file created 0600 keeps all
three private whatever the process umask is.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

__all__ = ["NotPrivate", "private_directory", "private_sqlite_files"]

log = logging.getLogger(__name__)

_SIDE_FILES = ("-wal", "-shm", "-journal")


class NotPrivate(Exception):
    """A directory that must be private is open to others and cannot be tightened."""


def private_directory(path: Path) -> None:
    """Create `path` 0700, or tighten an existing one readable by group or others."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    found = path.stat()
    mode = found.st_mode & 0o777
    if not mode & 0o077:
        return
    # Someone else's directory is not ours to change, even where we could (as root).
    if found.st_uid != os.geteuid():
        raise NotPrivate(
            f"the data directory {path} has mode {mode:04o}, open to group or others, and "
            f"belongs to another user; chmod 0700 it, or choose another data directory"
        )
    path.chmod(0o700)
    log.warning(
        "the data directory %s had mode %04o, open to group or others; tightened it to 0700",
        path,
        mode,
    )


def private_sqlite_files(database: Path) -> None:
    """Create the database file 0600 before SQLite does; tighten any that exist."""
    descriptor = os.open(database, os.O_RDWR | os.O_CREAT, 0o600)
    os.close(descriptor)
    for path in (database, *(database.with_name(database.name + s) for s in _SIDE_FILES)):
        try:
            mode = path.stat().st_mode & 0o777
        except FileNotFoundError:
            continue
        if mode & 0o077:
            path.chmod(0o600)
            log.warning("%s had mode %04o; tightened it to 0600", path, mode)
