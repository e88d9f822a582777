"""`python -m sendwarden.cli` runs the command-line interface."""

from sendwarden.cli.main import run

run()
