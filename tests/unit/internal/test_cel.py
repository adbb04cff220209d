"""The CEL wrapper: compiling, evaluating over JSON variables, errors, version functions."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime

import pytest

from sbomsign._internal import cel
from sbomsign._internal.cel import CelError

VARS = {
    "inventory": {
        "artifacts": [
            {"name": "svc", "binaries": [{"arch": "loongarch64", "go": {"go_version": "go1.22.5"}}]}
        ]
    },
    "attestations": [{"kind": "cyclonedx", "signer": {"issuer": "https://issuer"}}],
    "nothing": None,
}
NOW = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)


def run(expression: str, variables: dict[str, object] | None = None) -> bool:
    return cel.compile(expression).evaluate(cel.bind(variables or VARS, now=NOW))


def test_macros_over_json() -> None:
    assert run("inventory.artifacts.all(a, a.binaries.all(b, b.arch == 'loongarch64'))")
    assert run("attestations.exists(a, a.kind == 'cyclonedx')")
    assert not run("attestations.exists(a, a.kind == 'spdx')")
    assert run("size(inventory.artifacts) == 1 && nothing == null")
    assert run("has(inventory.artifacts[0].binaries[0].go)")
    assert run("'https://github.com/org/repo'.matches('^https://github[.]com/')")


def test_comparisons_with_null() -> None:
    # celpy 0.5 alone fails on `map != null`; the wrapper gives CEL's answer.
    assert run("inventory != null && attestations != null && nothing == null")
    assert not run("inventory == null || attestations[0] == null || nothing != null")
    assert run("inventory.artifacts[0].binaries[0].go != null")
    assert run("[1] == [1] && {'a': 1} != {'a': 2} && 'a' != 'b'")


def test_now_is_a_timestamp() -> None:
    assert run("now > timestamp('2024-12-01T00:00:00Z')")
    assert run("now - timestamp('2024-12-01T00:00:00Z') < duration('800h')")
    # Without `now`, the variable is simply undeclared.
    with pytest.raises(CelError, match="undeclared reference to 'now'"):
        cel.compile("now > now").evaluate(cel.bind({}))


def test_version_functions() -> None:
    assert run(
        "versionCompare(inventory.artifacts[0].binaries[0].go.go_version, '1.22.0', 'go') == 1"
    )
    assert run("versionMatches('v1.3.0', '>=1.0.0, <1.4.0', 'semver')")
    assert not run("versionMatches('1.0-1', '<1.0', 'deb')")
    with pytest.raises(CelError, match="versionCompare: .*not a Go toolchain version"):
        run("versionCompare('devel', '1.22', 'go') == 0")
    with pytest.raises(CelError, match="versionMatches: .*empty constraint"):
        run("versionMatches('1.0', '<2,', 'semver')")


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("inventory.missing == 1", "no such member"),
        ("nothing.field == 1", "does not support field selection"),
        ("1 / 0 == 1", "divide by zero"),
        ("nosuchvariable", "undeclared reference to 'nosuchvariable'"),
        ("size(inventory.artifacts)", "gave a int, not a bool"),
        ("'text'", "gave a string, not a bool"),
    ],
)
def test_evaluation_errors_are_one_line(expression: str, message: str) -> None:
    with pytest.raises(CelError, match=message) as info:
        run(expression)
    assert "\n" not in info.value.message
    # celpy's own messages embed the whole activation; ours must not.
    assert "Activation" not in info.value.message


@pytest.mark.parametrize("expression", ["1 +", "a ==== b", "foo(", "'unterminated"])
def test_syntax_errors_name_the_position(expression: str) -> None:
    with pytest.raises(CelError, match=r"CEL syntax error at line 1 column \d+"):
        cel.compile(expression)


def test_programs_are_reusable_across_bindings() -> None:
    program = cel.compile("x > 2")
    assert program.evaluate(cel.bind({"x": 3}))
    assert not program.evaluate(cel.bind({"x": 1}))
    assert program.source == "x > 2"


def test_recursion_limit_is_not_lowered() -> None:
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(5000)
    try:
        cel._ENVIRONMENT = None
        cel.compile("true")
        assert sys.getrecursionlimit() == 5000
    finally:
        sys.setrecursionlimit(limit)


def test_celpy_is_imported_lazily() -> None:
    code = (
        "import sys, sbomsign.policy, sbomsign._internal.cel\n"
        "assert 'celpy' not in sys.modules, 'celpy imported eagerly'\n"
        "assert 'yaml' not in sys.modules and 'jsonschema' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_a_deadline_whose_first_signal_is_lost_still_stops_the_evaluation() -> None:
    """An exception raised by a signal handler is lost when it lands in a finaliser; the
    timer repeats, so the next one stops the runaway work, and leaving the deadline disarms
    the timer and restores the handler."""
    import signal
    import time

    from sbomsign._internal import cel

    before = signal.getsignal(signal.SIGALRM)
    swallowed = 0
    started = time.monotonic()
    with pytest.raises(cel._Expired), cel._deadline(1):
        while time.monotonic() - started < 10:
            try:
                while time.monotonic() - started < 10:
                    pass
            except cel._Expired:
                if swallowed:
                    raise
                swallowed += 1  # the first one is lost, as in a finaliser
    assert swallowed == 1 and time.monotonic() - started < 3
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)
    assert signal.getsignal(signal.SIGALRM) == before
