"""`python -m sbomsign` runs the command-line interface."""

import sys

from sbomsign._cli import main

sys.exit(main())
