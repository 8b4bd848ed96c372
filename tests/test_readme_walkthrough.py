"""The README's walkthrough runs as written, against real processes, and prints what it shows.

tests/support/walkthrough.py says how blocks are marked and what their `# ...` lines
mean. The README's ports (8080, 8090, 8095, 9000) are swapped for free ones; nothing else in
a command changes, except the `app_...`-style values a reader copies from an output.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.processes import free_port
from tests.support.walkthrough import Block, Command, blocks, fill_in, unmatched

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
PORTS = ("8080", "8090", "8095", "9000")
COMMAND_TIMEOUT = 60.0
SHOWN_TIMEOUT = 90.0  # a long-running block shows what it printed once the scenario played


def _described(command: Command, output: str, detail: str) -> str:
    return f"README.md:{command.line}: {command.text}\n{detail}\n--- it printed:\n{output}"


class Shell:
    """One terminal: a bash session fed one command at a time."""

    def __init__(self, name: str, workdir: Path, logs: Path, env: dict[str, str]) -> None:
        self.logs = logs / _file_name(name)
        self.logs.mkdir(parents=True)
        self.count = 0
        with (self.logs / "shell.log").open("wb") as log:
            self.process = subprocess.Popen(
                ["bash", "--noprofile", "--norc"],
                stdin=subprocess.PIPE,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=workdir,
                env=env,
                start_new_session=True,
            )

    def run(self, text: str) -> tuple[int, Path]:
        """Run `text` in the session; its exit code and the file its output went to."""
        self.count += 1
        out, rc = self.logs / f"{self.count}.out", self.logs / f"{self.count}.rc"
        wrapped = f"{{ {text}\n}} >{out} 2>&1 </dev/null; echo $? >{rc}.part; mv {rc}.part {rc}\n"
        assert self.process.stdin is not None
        self.process.stdin.write(wrapped.encode())
        self.process.stdin.flush()
        deadline = time.monotonic() + COMMAND_TIMEOUT
        while not rc.exists():
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise AssertionError(f"{text!r} did not finish:\n{_read(out)}")
            time.sleep(0.05)
        return int(rc.read_text()), out

    def close(self) -> None:
        """End the session and whatever it left running in the background."""
        _end_group(self.process, signal.SIGTERM)
        if self.process.stdin is not None:
            self.process.stdin.close()


@dataclass
class Running:
    """A command that runs until Ctrl-C, in a terminal of its own."""

    command: Command
    process: subprocess.Popen[bytes]
    out: Path


def _file_name(terminal: str) -> str:
    return re.sub(r"\W+", "-", terminal)


def _read(path: Path) -> str:
    return path.read_text(errors="replace") if path.exists() else ""


def _end_group(process: subprocess.Popen[bytes], sig: int) -> int:
    if process.poll() is None:
        os.killpg(process.pid, sig)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    # Background jobs of the session (a `serve &`) outlive its shell; end them too.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    return process.returncode


class Walkthrough:
    """Plays the marked blocks in order; `outputs` are the files written so far."""

    def __init__(self, tmp_path: Path) -> None:
        self.checkout = tmp_path / "checkout"
        self.checkout.mkdir(parents=True)
        venv = Path(sys.prefix)
        assert (venv / "bin" / "tenantstatus").exists(), f"run the tests from a venv, not {venv}"
        # A clone after the install command: its venv and examples, nothing else needed.
        (self.checkout / ".venv").symlink_to(venv, target_is_directory=True)
        (self.checkout / "examples").symlink_to(ROOT / "examples", target_is_directory=True)
        self.logs = tmp_path / "terminals"
        venv_bin = (venv / "bin").resolve()
        path = [p for p in os.environ.get("PATH", "").split(os.pathsep) if p]
        self.env = {  # a fresh terminal: no venv on PATH, no TENANTSTATUS_ settings
            "PATH": os.pathsep.join(p for p in path if Path(p).resolve() != venv_bin),
            "HOME": os.environ.get("HOME", str(tmp_path)),
            "LANG": "C.UTF-8",
            "TMPDIR": tempfile.gettempdir(),
        }
        self.shells: dict[str, Shell] = {}
        self.running: list[Running] = []
        self.outputs: list[Path] = []

    def play(self, block: Block) -> None:
        if block.until_ctrl_c:
            self._start(block.terminal, block.commands[0])
            return
        shell = self.shells.get(block.terminal)
        if shell is None:
            shell = Shell(block.terminal, self.checkout, self.logs, self.env)
            self.shells[block.terminal] = shell
        for command in block.commands:
            rc, out = shell.run(fill_in(command.text, map(_read, self.outputs)))
            self.outputs.append(out)
            printed = _read(out)
            assert rc == command.exit_code, _described(
                command, printed, f"exited {rc}, the README says {command.exit_code}"
            )
            missing = unmatched(command.printed, printed)
            assert not missing, _described(command, printed, f"did not print {missing}")

    def _start(self, terminal: str, command: Command) -> None:
        self.logs.mkdir(exist_ok=True)
        out = self.logs / (_file_name(terminal) + ".out")
        text = fill_in(command.text, map(_read, self.outputs))
        with out.open("wb") as sink:
            process = subprocess.Popen(
                ["bash", "--noprofile", "--norc", "-c", text],
                stdout=sink,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                cwd=self.checkout,
                env=self.env,
                start_new_session=True,
            )
        self.running.append(Running(command, process, out))
        self.outputs.append(out)
        deadline = time.monotonic() + SHOWN_TIMEOUT
        while missing := unmatched(command.printed, _read(out)):
            if process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(_described(command, _read(out), f"never printed {missing}"))
            time.sleep(0.1)

    def stop(self) -> list[str]:
        """Ctrl-C the long-running commands, newest first; what went wrong on the way."""
        problems = []
        for running in reversed(self.running):
            rc = _end_group(running.process, signal.SIGINT)
            printed = _read(running.out)
            if rc not in (0, 128 + signal.SIGINT) or "Traceback" in printed:
                problems.append(_described(running.command, printed, f"Ctrl-C: exit {rc}"))
        for shell in self.shells.values():
            shell.close()
        return problems


def _with_free_ports(markdown: str) -> str:
    ports = {port: str(free_port()) for port in PORTS}
    spelled = "|".join(PORTS)
    return re.sub(rf"(?<![\w.])({spelled})\b", lambda m: ports[m.group(1)], markdown)


SAMPLE = """\
## One

<!-- walkthrough: first -->
```sh
export A=1   # a comment, not output
tool add x \\
    --flag   # exit code 1
# error: x exists since 2026-11-25T21:01:00Z; ...
```

## Two

<!-- walkthrough: app, until Ctrl-C -->
```sh
run --id app_...
#   listening on 9000
```

```sh
not marked
```
"""


def test_marked_blocks_parse_into_commands_and_what_they_print() -> None:
    one, two = blocks(SAMPLE)
    assert (one.section, one.terminal, one.until_ctrl_c) == ("One", "first", False)
    first, second = one.commands
    assert (first.text, first.printed, first.exit_code) == (
        "export A=1   # a comment, not output",
        [],
        0,
    )
    assert second.text == "tool add x \\\n    --flag   # exit code 1"
    assert (second.exit_code, second.line) == (1, 6)
    assert second.printed == ["error: x exists since 2026-11-25T21:01:00Z; ..."]
    assert (two.section, two.terminal, two.until_ctrl_c) == ("Two", "app", True)
    assert two.commands[0].printed == ["listening on 9000"]


def test_a_long_running_block_holds_one_command() -> None:
    with pytest.raises(ValueError, match="one command"):
        blocks("<!-- walkthrough: x, until Ctrl-C -->\n```sh\na\nb\n```\n")


@pytest.mark.parametrize(
    ("expected", "output", "missing"),
    [
        (["a", "c"], "a\nb\nc\n", []),
        (["c", "a"], "a\nb\nc\n", ["a"]),
        (["x: 1 ... 3"], "x: 1 2 3\n", []),
        (["x: ..."], "x:\n", ["x: ..."]),
        (['{...,"On":true,...}'], '{"A":1,"On":true,"B":2}', []),
        (['{...,"On":true,...}'], '{"A":1,"On":false,"B":2}', ['{...,"On":true,...}']),
        (["at 2026-11-26T02:00:00Z"], "at  2031-01-02T03:04:05.123456Z\n", []),
        (["at 2026-11-26T02:00:00Z"], "at tomorrow\n", ["at 2026-11-26T02:00:00Z"]),
        (["a", "...", "b"], "a\nzzz\nb", []),
        (["a b"], "  a    b  ", []),
        (["a"], "ab", ["a"]),
    ],
)
def test_shown_output_matches_whole_lines_in_order(
    expected: list[str], output: str, missing: list[str]
) -> None:
    assert unmatched(expected, output) == missing


def test_placeholders_take_the_last_value_printed() -> None:
    outputs = ["token tsop_old", "app app_1f2e, token tsop_new-_x and tsop_..."]
    assert fill_in("go --app app_... --token tsop_...", outputs) == (
        "go --app app_1f2e --token tsop_new-_x"
    )
    with pytest.raises(LookupError, match="whsec_"):
        fill_in("go whsec_...", outputs)


def test_the_readme_marks_both_walkthroughs() -> None:
    marked = blocks(README.read_text())
    assert {block.terminal for block in marked} >= {"service", "sandbox", "vendor app"}
    commands = [command.text for block in marked for command in block.commands]
    assert not [text for text in commands if re.match(r"python3? ", text)], commands
    assert any("$(date -u -d" in text for text in commands), "dates must be relative to now"


def _play(workdir: Path, section: list[Block]) -> None:
    walkthrough = Walkthrough(workdir)
    try:
        for block in section:
            walkthrough.play(block)
    finally:
        problems = walkthrough.stop()
    assert not problems, "\n\n".join(problems)


def test_the_readme_walkthrough_runs_as_written(tmp_path: Path) -> None:
    sections: dict[str, list[Block]] = {}
    for block in blocks(_with_free_ports(README.read_text())):
        sections.setdefault(block.section, []).append(block)
    assert len(sections) >= 2, "the README's walkthrough blocks are not marked"
    # The sections are independent, and most of the time is spent waiting: play them at once.
    with ThreadPoolExecutor(len(sections)) as pool:
        plays = [
            pool.submit(_play, tmp_path / f"section-{number}", section)
            for number, section in enumerate(sections.values())
        ]
        failures = []
        for play in plays:
            try:
                play.result()
            except AssertionError as failure:
                failures.append(str(failure))
    assert not failures, "\n\n".join(failures)
