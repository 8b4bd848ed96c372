"""`python -m tenantstatus` runs the CLI."""

from tenantstatus.cli import main

main()
