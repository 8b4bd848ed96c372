"""How CLI commands print: JSON for scripts, tables for people."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Sequence
from typing import Any

from rich.console import Console
from rich.table import Table

__all__ = ["console", "print_json", "print_table", "show"]

# Piped output is read by scripts and logs: never cut a table to a guessed terminal width.
console = Console(highlight=False, soft_wrap=True, width=None if sys.stdout.isatty() else 250)


def print_json(document: Any) -> None:
    """Print machine-readable JSON on stdout."""
    print(json.dumps(document, indent=2, ensure_ascii=False))


def print_table(title: str | None, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """Print a readable table."""
    table = Table(title=title, title_justify="left")
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*("" if cell is None else str(cell) for cell in row))
    console.print(table)


def show(document: Any, as_json: bool, fields: Sequence[str]) -> None:
    """Print one object: all of it as JSON, or the chosen fields as a two-column table."""
    if as_json:
        print_json(document)
        return
    print_table(None, ("field", "value"), ((name, document.get(name)) for name in fields))
