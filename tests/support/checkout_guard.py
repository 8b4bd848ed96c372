"""A pytest plugin that fails any test which reads beside the checkout instead of inside it.

CI runs from a clean clone with nothing next to it, so a test that reads `../shared/...`
passes on a developer's machine and fails there. An audit hook sees every `open`,
directory listing and glob in the test process; a path that lies in a sibling of the
checkout (under its parent directory, outside the checkout itself) fails the test that
read it, or the session if no test was running. Subprocesses are not covered:
tests/test_self_contained.py scans the sources for such paths as well.

Load it with `-p tests.support.checkout_guard` (tests/conftest.py does).
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHECKOUT = str(Path(__file__).resolve().parents[2])
_PARENT = os.path.dirname(CHECKOUT)
_EVENTS = frozenset({"open", "os.listdir", "os.scandir", "glob.glob", "os.chdir"})

# Places a test may read even when they happen to lie beside the checkout (a clone in
# the home directory, say): the interpreter and its packages, the temporary directory
# and the per-user caches and settings tools keep.
_HOME = os.path.expanduser("~")
_TEMP = os.path.abspath(tempfile.gettempdir())
# A clone made in the temporary directory itself (/tmp/clone) has the tests' own
# temporary files beside it: there, only what lay beside it before the run counts, and
# pytest's own base directory does not.
CLONED_IN_TEMP = _TEMP == _PARENT
_BESIDE_AT_START = (
    frozenset(os.listdir(_PARENT)) - {os.path.basename(CHECKOUT)} if CLONED_IN_TEMP else frozenset()
)
_ALLOWED = tuple(
    os.path.join(os.path.abspath(place), "")
    for place in {
        sys.prefix,
        sys.base_prefix,
        sys.exec_prefix,
        # Not when the checkout's parent is the temporary directory or lies in it
        # (`mktemp -d`/repo): the prefix would cover everything beside the checkout.
        *(() if os.path.join(_PARENT, "").startswith(os.path.join(_TEMP, "")) else (_TEMP,)),
        *(os.path.join(_HOME, hidden) for hidden in (".cache", ".config", ".local")),
    }
)


def outside_checkout(path: str) -> bool:
    """Whether `path` (relative to the working directory) lies beside the checkout."""
    if os.path.dirname(_PARENT) == _PARENT:
        return False  # a checkout at the root of the file system has every path beside it
    absolute = os.path.join(os.path.abspath(path), "")
    if not absolute.startswith(os.path.join(_PARENT, "")):
        return False
    if absolute.startswith(os.path.join(CHECKOUT, "")):
        return False
    if absolute.startswith(_ALLOWED):
        return False
    if CLONED_IN_TEMP:
        first = absolute[len(_PARENT) :].strip(os.sep).split(os.sep)[0]
        if first.startswith("pytest-of-"):
            return False
        # Made during the run (a temporary file), not there before it: not beside. The
        # directory itself is tempfile's, which probes it.
        return bool(first) and (
            first in _BESIDE_AT_START or not os.path.lexists(os.path.join(_PARENT, first))
        )
    return True


class _Reads:
    """What the hook saw, split by the test that was running."""

    def __init__(self) -> None:
        self.current: list[str] | None = None
        self.unattributed: list[str] = []

    def hook(self, event: str, args: tuple[Any, ...]) -> None:
        if event not in _EVENTS or not args:
            return
        target = args[0]
        if isinstance(target, os.PathLike):
            target = os.fspath(target)
        if isinstance(target, bytes):
            target = os.fsdecode(target)
        if not isinstance(target, str) or not outside_checkout(target):
            return
        seen = self.unattributed if self.current is None else self.current
        seen.append(f"{event} {os.path.abspath(target)}")


_READS = _Reads()
sys.addaudithook(_READS.hook)  # audit hooks cannot be removed; the hook is cheap


def _message(reads: list[str]) -> str:
    listed = "\n".join(f"  {read}" for read in dict.fromkeys(reads))
    return (
        f"read outside the checkout {CHECKOUT} (a clean clone has nothing beside it):\n"
        f"{listed}\nkeep what the test needs inside the repository"
    )


@pytest.fixture(autouse=True)
def _stays_inside_the_checkout() -> Iterator[None]:
    """Fail the test if it (or its fixtures' set-up) read anything beside the checkout."""
    reads: list[str] = []
    _READS.current = reads
    try:
        yield
    finally:
        _READS.current = None
    if reads:
        pytest.fail(_message(reads), pytrace=False)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Fail the run for reads made outside any test, at import or collection time."""
    if _READS.unattributed:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Say what was read outside any test."""
    if _READS.unattributed:
        terminalreporter.section("reads outside the checkout", red=True)
        terminalreporter.line(_message(_READS.unattributed))
