"""The README's walkthrough as data: its marked shell blocks, their commands and outputs.

A block runs in the walkthrough when the line before its fence is a marker:

    <!-- walkthrough: service -->               run in the terminal called "service"
    <!-- walkthrough: sandbox, until Ctrl-C --> one command that runs until Ctrl-C

Blocks with the same terminal name in one `## ` section share one bash session (exports
carry over); each terminal starts as a fresh shell in the section's own fresh checkout,
without the venv on PATH, and sections do not depend on each other. In a
block, a line `# text` right after a command is a line that command prints, `...` in it
stands for anything, and dates match any date. A trailing comment `# exit code N` says
the command exits N (0 otherwise). `app_...` and the like in a command stand for the
value an earlier output printed with that prefix, as a reader would copy it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

_MARKER = re.compile(
    r"<!--\s*walkthrough:\s*(?P<terminal>[^,>]+?)\s*(?P<until>,\s*until Ctrl-C)?\s*-->"
)
_FENCE = re.compile(r"^```(?:sh|bash|console)\s*$")
_EXIT_CODE = re.compile(r"#.*\bexit code (\d+)")
_TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)")
_PLACEHOLDER = re.compile(r"\b([a-z]+)_\.\.\.")


@dataclass
class Command:
    """One shell command (continuation lines joined) and what the README says it prints."""

    text: str
    line: int
    printed: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        """The exit code the README promises: `# exit code N` on the command, else 0."""
        last = self.text.splitlines()[-1]
        found = _EXIT_CODE.search(last)
        return int(found.group(1)) if found else 0


@dataclass
class Block:
    """A marked shell block: its section, where it runs and its commands."""

    section: str
    terminal: str
    until_ctrl_c: bool
    line: int
    commands: list[Command]


def blocks(markdown: str) -> list[Block]:
    """The marked shell blocks of `markdown`, in order."""
    lines = markdown.splitlines()
    found: list[Block] = []
    section = ""
    for number, line in enumerate(lines):
        if line.startswith("## "):
            section = line[3:].strip()
        marker = _MARKER.fullmatch(line.strip())
        if marker is None:
            continue
        if number + 1 >= len(lines) or not _FENCE.match(lines[number + 1]):
            raise ValueError(f"line {number + 1}: a walkthrough marker must precede ```sh")
        end = lines.index("```", number + 2)
        block = Block(
            section,
            marker["terminal"],
            marker["until"] is not None,
            number + 3,
            _commands(lines[number + 2 : end], number + 3),
        )
        if block.until_ctrl_c and len(block.commands) != 1:
            raise ValueError(f"line {block.line}: an `until Ctrl-C` block has one command")
        found.append(block)
    return found


def _commands(lines: Sequence[str], first: int) -> list[Command]:
    commands: list[Command] = []
    continued = False
    for offset, line in enumerate(lines):
        if continued:
            commands[-1].text += "\n" + line
        elif line.startswith("#"):
            if not commands:
                raise ValueError(f"line {first + offset}: output before any command")
            commands[-1].printed.append(line[1:].strip())
        elif line.strip():
            commands.append(Command(line, first + offset))
        continued = line.endswith("\\")
    return commands


def _normal(line: str) -> str:
    return " ".join(_TIMESTAMP.sub("<date>", line).split())


def _pattern(expected: str) -> re.Pattern[str]:
    return re.compile(".*?".join(re.escape(part) for part in _normal(expected).split("...")))


def unmatched(expected: Iterable[str], output: str) -> list[str]:
    """The expected lines not found in `output`, in order, from the first one missing."""
    wanted = [line for line in expected if line.strip() != "..."]
    printed = [_normal(line) for line in output.splitlines()]
    position = 0
    for index, line in enumerate(wanted):
        pattern = _pattern(line)
        while position < len(printed) and not pattern.fullmatch(printed[position]):
            position += 1
        if position == len(printed):
            return wanted[index:]
        position += 1
    return []


def fill_in(command: str, outputs: Iterable[str]) -> str:
    """Replace `prefix_...` placeholders with the last value printed with that prefix."""
    seen = list(outputs)

    def value(placeholder: re.Match[str]) -> str:
        prefix = placeholder.group(1)
        for output in reversed(seen):
            found = [
                match.group(0)
                for match in re.finditer(rf"\b{prefix}_[A-Za-z0-9_\-]+", output)
                if not output.startswith("...", match.end())
            ]
            if found:
                return found[-1]
        raise LookupError(f"nothing printed so far fills in {placeholder.group(0)}")

    return _PLACEHOLDER.sub(value, command)
