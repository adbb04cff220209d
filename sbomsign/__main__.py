"""`python -m sbomsign` runs the command-line interface."""

from sbomsign._cli import run

run()
