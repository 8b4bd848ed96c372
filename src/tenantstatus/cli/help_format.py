"""Help that reads like other command-line tools': no type placeholders where no value goes.

The root app uses click's plain help, which already shows flags bare (`--json`, not
`--json <bool>`); arguments are shown by their name alone (`CTX...`, not `<list[str]>`).
"""

from __future__ import annotations

from typer.core import TyperArgument, TyperGroup

__all__ = ["plain_arguments"]


class _NamedArgument(TyperArgument):
    """An argument whose help shows its name (or metavar) and no type placeholder."""

    def display_type_rich(self, ctx: object) -> str | None:
        """No type: the name says what to give."""
        return None


def plain_arguments(command: object) -> None:
    """Show every argument of `command` and its subcommands without a type placeholder."""
    for param in getattr(command, "params", ()):
        if type(param) is TyperArgument:
            param.__class__ = _NamedArgument
    if isinstance(command, TyperGroup):
        for subcommand in command.commands.values():
            plain_arguments(subcommand)
