"""The repository stands alone: tests read nothing beside it and every doc link resolves."""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.support.checkout_guard import CHECKOUT, CLONED_IN_TEMP, outside_checkout

ROOT = Path(CHECKOUT)
_BESIDE = re.compile(r"\.\./shared\b|/work/shared\b")
_SCANNED = ("src", "tests", "scripts", "examples", "bench", ".ci")
_SCANNED_SUFFIXES = {".py", ".sh", ".json", ".toml", ".cfg", ".ini", ".txt", ""}
# The guard and its tests name the folder on purpose.
_EXEMPT = {ROOT / "tests" / "support" / "checkout_guard.py", Path(__file__).resolve()}


def _run_pytest(tmp_path: Path, body: str) -> subprocess.CompletedProcess[str]:
    test = tmp_path / "test_generated.py"
    test.write_text(textwrap.dedent(body))
    command = [sys.executable, "-m", "pytest", "-q", "-p", "tests.support.checkout_guard"]
    command += ["-p", "no:cacheprovider", "--rootdir", str(tmp_path), str(test)]
    return subprocess.run(
        command, cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )


def test_a_test_that_reads_beside_the_checkout_fails(tmp_path: Path) -> None:
    result = _run_pytest(
        tmp_path,
        f"""
        import contextlib

        def test_reads_a_sibling_folder():
            with contextlib.suppress(OSError):
                open({str(ROOT / ".." / "shared" / "spec" / "none.json")!r}).close()
        """,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "read outside the checkout" in result.stdout, result.stdout
    assert str(ROOT.parent / "shared" / "spec" / "none.json") in result.stdout


def test_a_read_beside_the_checkout_at_import_time_fails_the_session(tmp_path: Path) -> None:
    result = _run_pytest(
        tmp_path,
        f"""
        import contextlib
        import os

        NAMES = ["checked"]
        with contextlib.suppress(OSError):
            NAMES += os.listdir({str(ROOT / ".." / "shared")!r})

        def test_nothing():
            assert NAMES
        """,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "1 passed" in result.stdout, result.stdout
    assert "reads outside the checkout" in result.stdout, result.stdout


def test_a_test_that_reads_inside_the_checkout_passes(tmp_path: Path) -> None:
    result = _run_pytest(
        tmp_path,
        f"""
        def test_reads_the_readme():
            with open({str(ROOT / "README.md")!r}) as readme:
                assert readme.read(1)
        """,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("path", "beside"),
    [
        ("../shared/spec/examples/state.json", True),
        ("../other-clone", True),
        # Listing the parent depends on what lies beside, unless the parent is the
        # temporary directory, which tempfile probes.
        ("..", not CLONED_IN_TEMP),
        ("README.md", False),
        ("spec/examples", False),
        (f"../{ROOT.name}/README.md", False),
        (f"{sys.prefix}/lib", False),
    ],
)
def test_the_guard_tells_beside_from_inside(path: str, beside: bool) -> None:
    assert outside_checkout(str(ROOT / path)) is beside


def _naming_beside(root: Path) -> list[str]:
    found = []
    for top in _SCANNED:
        for path in sorted((root / top).rglob("*")):
            if "node_modules" in path.parts or "__pycache__" in path.parts:
                continue
            if path in _EXEMPT or not path.is_file() or path.suffix not in _SCANNED_SUFFIXES:
                continue
            for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
                if _BESIDE.search(line):
                    found.append(f"{path.relative_to(root)}:{number}: {line.strip()}")
    return found


def test_the_scan_finds_a_path_beside_the_checkout(tmp_path: Path) -> None:
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_x.py").write_text('SPEC = "../shared/spec/examples"\n')
    (tmp_path / "tests" / "test_y.py").write_text('SPEC = "spec/examples"\n')
    assert _naming_beside(tmp_path) == ['tests/test_x.py:1: SPEC = "../shared/spec/examples"']


def test_no_source_names_a_folder_beside_the_checkout() -> None:
    """Subprocesses escape the audit hook, so the sources are scanned as well."""
    assert not _naming_beside(ROOT)


# --- links in the documentation --------------------------------------------------------

_FENCE = re.compile(r"^(```|~~~).*?^\1", re.MULTILINE | re.DOTALL)
_CODE_SPAN = re.compile(r"`[^`\n]*`")
_LINK = re.compile(r"!?\[[^\]\n]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_REFERENCE = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)", re.MULTILINE)
_HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.MULTILINE)


def _documents() -> list[Path]:
    documents = sorted(ROOT.glob("*.md"))
    for folder in ("docs", "spec", "bench", "examples"):
        documents += sorted((ROOT / folder).rglob("*.md"))
    return documents


def _prose(path: Path) -> str:
    return _CODE_SPAN.sub("", _FENCE.sub("", path.read_text()))


def _anchors(path: Path) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens."""
    anchors: set[str] = set()
    for heading in _HEADING.findall(_FENCE.sub("", path.read_text())):
        text = re.sub(r"[`*_]|\[([^\]]*)\]\([^)]*\)", r"\1", heading).strip().lower()
        base = re.sub(r"[^\w\- ]", "", text).replace(" ", "-")
        anchor, n = base, 0
        while anchor in anchors:
            n += 1
            anchor = f"{base}-{n}"
        anchors.add(anchor)
    return anchors


def _broken_links(document: Path, root: Path = ROOT) -> list[str]:
    prose = _prose(document)
    broken = []
    for target in _LINK.findall(prose) + _REFERENCE.findall(prose):
        if re.match(r"[a-z][a-z0-9+.-]*:", target, re.IGNORECASE):
            continue  # http:, https:, mailto: ... reach outside by design
        file_part, _, anchor = target.partition("#")
        resolved = (document.parent / file_part).resolve() if file_part else document
        if not resolved.is_relative_to(root):
            broken.append(f"{target}: outside the repository")
        elif not resolved.exists():
            broken.append(f"{target}: no such file")
        elif anchor and resolved.suffix == ".md" and anchor not in _anchors(resolved):
            broken.append(f"{target}: no heading #{anchor}")
    return [f"{document.relative_to(root)}: {line}" for line in broken]


def test_the_link_checker_sees_dead_links_and_skips_code(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    (root / "docs").mkdir(parents=True)
    (root / "docs" / "plan.md").write_text("# The plan\n")
    page = root / "README.md"
    page.write_text(
        "# Read me\n\n## Two words\n\n"
        "[plan](docs/plan.md) [there](docs/plan.md#the-plan) [here](#two-words)\n"
        "[web](https://example.com/x) ![shot](docs/plan.md)\n"
        "[design](../shared/DESIGN.md) [gone](docs/gone.md) [nowhere](#no-such)\n"
        "`[span](span.md)`\n\n```sh\n[fenced](fenced.md)\n```\n\n[ref]: docs/old.md\n"
    )
    assert _broken_links(page, root) == [
        "README.md: ../shared/DESIGN.md: outside the repository",
        "README.md: docs/gone.md: no such file",
        "README.md: #no-such: no heading #no-such",
        "README.md: docs/old.md: no such file",
    ]


@pytest.mark.parametrize("document", _documents(), ids=lambda path: str(path.relative_to(ROOT)))
def test_every_link_in_the_documentation_resolves_inside_the_repository(document: Path) -> None:
    assert not _broken_links(document)
