"""The CLI behaves like the tools people know: a version, completion, honest help."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx2 as httpx

from tenantstatus.__about__ import __version__
from tenantstatus.lifecycle import Operation
from tests.cli.running import SCRIPT, error_line, run_cli
from tests.support.processes import ServiceProcess

REPOSITORY = Path(__file__).resolve().parents[2]

# Prints {"tenant op": "<its --help>", ...} for every command, through the CLI's main().
_EVERY_HELP = """
import contextlib, io, json, sys
import typer
import tenantstatus.cli as cli

def paths(command, prefix):
    yield prefix
    for name, sub in getattr(command, "commands", {}).items():
        if not sub.hidden:
            yield from paths(sub, [*prefix, name])

helps = {}
for path in paths(typer.main.get_command(cli.app), []):
    sys.argv = ["tenantstatus", *path, "--help"]
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.suppress(SystemExit):
        cli.main()
    helps[" ".join(path)] = out.getvalue()
print(json.dumps(helps))
"""


def test_version_prints_the_package_version() -> None:
    result = run_cli("--version")
    assert result.returncode == 0 and result.stdout == f"tenantstatus {__version__}\n"


def test_shell_completion_installs_and_completes_commands_and_operations(
    tmp_path: Path,
) -> None:
    helped = run_cli("--help").stdout
    assert "--install-completion" in helped and "--show-completion" in helped
    script = run_cli("--show-completion", "bash")
    assert script.returncode == 0
    assert "_TENANTSTATUS_COMPLETE=complete_bash" in script.stdout
    assert "complete -o default -F _tenantstatus_completion tenantstatus" in script.stdout
    installed = run_cli("--install-completion", "bash", env={"HOME": str(tmp_path)})
    assert installed.returncode == 0, installed.stderr
    installed_script = (tmp_path / ".bash_completions" / "tenantstatus.sh").read_text()
    assert installed_script.strip() == script.stdout.strip()
    assert "tenantstatus.sh" in (tmp_path / ".bashrc").read_text()

    def complete(words: str) -> list[str]:
        env = {
            "_TENANTSTATUS_COMPLETE": "complete_bash",
            "COMP_WORDS": words,
            "COMP_CWORD": str(len(words.split(" ")) - 1),
        }
        return run_cli(env=env).stdout.split()

    assert complete("tenantstatus ten") == ["tenant"]
    assert complete("tenantstatus tenant op Cust1 upgr") == ["upgrade", "upgrade-done"]


def test_no_help_shows_a_type_placeholder_for_a_flag_or_an_argument() -> None:
    result = subprocess.run(
        [sys.executable, "-c", _EVERY_HELP], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    helps: dict[str, str] = json.loads(result.stdout)
    assert {"", "tenant", "tenant op", "tenant import", "watch", "sandbox", "keys rotate"} <= set(
        helps
    )
    for path, text in helps.items():
        assert "Usage: tenantstatus" in text, path
        assert "<bool>" not in text and "<list" not in text, (path, text)
        for line in text.splitlines():
            # A flag (--json, --help, --version, ...) is followed by its help, not a type.
            assert not re.match(r"\s+--[\w-]+ <bool>", line), (path, line)
    assert re.search(r"^\s+CTX\.\.\.\s+The tenants to watch", helps["watch"], re.MULTILINE)


def test_tenant_op_help_lists_every_operation_on_a_line_of_its_own() -> None:
    text = run_cli("tenant", "op", "--help").stdout
    lines = {line.split()[0]: line for line in text.splitlines() if line.startswith("    ")}
    for operation in Operation:
        assert operation.value in lines, operation
        description = lines[operation.value].split(None, 1)[1]
        assert len(description) > 10, (operation, description)
    assert "OfflineMaintenance; announces Upgrade; needs --version-name" in lines["upgrade"]
    assert "announces Move; needs --endpoint" in lines["move"]


def test_the_import_format_in_the_readme_is_what_import_accepts(
    service: ServiceProcess, tmp_path: Path
) -> None:
    readme = (REPOSITORY / "README.md").read_text()
    section = readme[readme.index("tenantstatus tenant import tenants.jsonl") :]
    section = section[: section.index("\n## ")]  # the rest of "Five minutes with the service"
    for field in ("ContextIdentifier", "Endpoint", "State", "VersionName", "FileVersion"):
        assert f"`{field}`" in section, field
    example = re.search(r"```json\n(.*?)```", section, re.DOTALL)
    assert example is not None
    path = tmp_path / "tenants.jsonl"
    path.write_text(example.group(1))
    lines = example.group(1).splitlines()
    assert len(lines) >= 2
    imported = json.loads(service.cli("tenant", "import", str(path), "--json").stdout)
    assert imported == {"Created": len(lines), "Skipped": 0, "Read": len(lines)}
    first = json.loads(lines[0])
    state = httpx.get(f"{service.url}/api/state/{first['ContextIdentifier']}").json()
    assert state["State"] == first["State"] and state["Endpoint"] == first["Endpoint"]


def _count_tenants(service: ServiceProcess) -> int:
    count, after = 0, None
    with service.admin() as admin:
        while True:
            params = {"limit": 1000, **({"after": after} if after else {})}
            page = admin.get("/admin/tenants", params=params).json()
            count += len(page["Tenants"])
            after = page["Next"]
            if not after:
                return count


def test_an_interrupted_import_says_how_many_tenants_it_created(
    fresh_service: ServiceProcess, tmp_path: Path
) -> None:
    service = fresh_service.start()
    path = tmp_path / "many.jsonl"
    path.write_text(
        "".join(
            json.dumps({"ContextIdentifier": f"Stop{n:06d}", "Endpoint": f"https://h/S{n}"}) + "\n"
            for n in range(60_000)
        )
    )
    env = {"TENANTSTATUS_URL": service.url, "TENANTSTATUS_TOKEN": service.token}
    importing = subprocess.Popen(
        [SCRIPT, "tenant", "import", str(path)],
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 120
    # The first batch is in: interrupt the import while the rest is still to go.
    with service.admin() as admin:
        while admin.get("/admin/tenants/Stop000000").status_code != 200:
            assert importing.poll() is None, importing.communicate()
            assert time.monotonic() < deadline
            time.sleep(0.05)
    importing.send_signal(signal.SIGINT)
    stdout, stderr = importing.communicate(timeout=120)
    result = subprocess.CompletedProcess(importing.args, importing.returncode, stdout, stderr)
    line = error_line(result, 130)
    found = re.match(r"error: interrupted: created (\d+) tenants and skipped 0 that exist", line)
    assert found is not None, line
    created = int(found.group(1))
    assert 0 < created < 60_000
    assert created == _count_tenants(service)
    assert "run the same import again" in line
