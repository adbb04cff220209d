"""The shape of the package stays livable: small modules, small functions.

Measured with radon, as the restructuring issue set the targets: no module of `sbomsign/` over
600 lines, no function over cyclomatic complexity 30 and at most five over 20. A change that
breaks one of these splits the code instead of raising a number here.
"""

from __future__ import annotations

from pathlib import Path

from radon.complexity import cc_visit
from radon.visitors import Class

PACKAGE = Path(__file__).resolve().parents[2] / "sbomsign"
MAX_LINES = 600
MAX_COMPLEXITY = 30
SOFT_COMPLEXITY = 20
MAX_OVER_SOFT = 5


def _modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def _functions() -> list[tuple[str, int]]:
    found: list[tuple[str, int]] = []
    for path in _modules():
        where = path.relative_to(PACKAGE.parent)
        for block in cc_visit(path.read_text()):
            # A class's own figure adds up its methods; the methods are what a reader holds.
            blocks = block.methods if isinstance(block, Class) else [block]
            found.extend((f"{where}:{b.fullname}", b.complexity) for b in blocks)
    return found


def test_no_module_is_over_the_line_limit() -> None:
    long = {str(p.relative_to(PACKAGE.parent)): n for p in _modules()
            if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert not long, f"modules over {MAX_LINES} lines: {long}"


def test_no_function_is_too_complex() -> None:
    functions = _functions()
    assert len(functions) > 500  # the walk found the package
    worst = [(n, c) for n, c in functions if c > MAX_COMPLEXITY]
    assert not worst, f"functions over complexity {MAX_COMPLEXITY}: {worst}"
    over = sorted((c, n) for n, c in functions if c > SOFT_COMPLEXITY)
    assert len(over) <= MAX_OVER_SOFT, f"more than {MAX_OVER_SOFT} over {SOFT_COMPLEXITY}: {over}"
