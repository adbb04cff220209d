"""CEL (Common Expression Language) for the policy's custom rules.

This is the only module that imports `celpy` (cel-python); the policy sees plain Python
values and `CelError`. Expressions are compiled once, when the policy is loaded, so syntax
errors surface before anything is verified; they are then evaluated against JSON-like
variables converted once per artifact (`bind`).

Besides CEL's standard functions and macros (`all`, `exists`, `exists_one`, `map`, `filter`,
`has`, `size`, `matches`, `startsWith`, `timestamp`, `duration`, ...), two functions compare
versions with the schemes of `sbomsign._internal.versions`:

- `versionCompare(a, b, scheme)`: -1, 0 or 1;
- `versionMatches(version, range, scheme)`: true when the version is in the range
  (`">=1.22.5"`, `">=1.0.0, <1.4.0 || =2.0.0"`, `"*"`).

`scheme` is one of `semver`, `go`, `deb`, `rpm`, `generic`.
"""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sbomsign._internal.limits import limit

if TYPE_CHECKING:
    import celpy

_ENVIRONMENT: celpy.Environment | None = None


class CelError(Exception):
    """An expression that cannot be compiled or evaluated; `message` is one line."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _environment() -> celpy.Environment:
    global _ENVIRONMENT
    if _ENVIRONMENT is None:
        # NOTE: importing celpy builds its grammar (~0.1 s) and an Environment costs as much
        # again, so both wait until a policy actually has a CEL rule.
        import celpy

        limit = sys.getrecursionlimit()
        env = celpy.Environment()
        # celpy *sets* the recursion limit to 2500 for deeply nested expressions; never let
        # it lower a limit the application raised.
        sys.setrecursionlimit(max(limit, sys.getrecursionlimit()))
        _ENVIRONMENT = env
    return _ENVIRONMENT


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _eval_message(error: BaseException) -> str:
    text = str(error.args[0]) if error.args else str(error)
    # NOTE: celpy appends a dump of the whole activation to undeclared-reference errors.
    text = text.split(" (in activation", 1)[0]
    return _one_line(text)


def _version_compare(a: Any, b: Any, scheme: Any) -> Any:
    from celpy import celtypes
    from celpy.evaluation import CELEvalError

    from sbomsign._internal import versions

    try:
        return celtypes.IntType(versions.compare(str(a), str(b), str(scheme)))
    except versions.VersionError as e:
        # NOTE: celpy turns exceptions raised by a function into an unrelated message;
        # returning the error value keeps ours.
        return CELEvalError(f"versionCompare: {e}")


def _version_matches(version: Any, range_: Any, scheme: Any) -> Any:
    from celpy import celtypes
    from celpy.evaluation import CELEvalError

    from sbomsign._internal import versions

    try:
        parsed = versions.parse_range(str(range_))
        return celtypes.BoolType(parsed.contains(str(version), str(scheme)))
    except versions.VersionError as e:
        return CELEvalError(f"versionMatches: {e}")


def _equal(a: Any, b: Any) -> Any:
    from celpy import celtypes
    from celpy.evaluation import bool_eq

    if a is None or b is None:
        # NOTE: celpy 0.5 has no list/map overload for comparisons with null (`x.go != null`
        # fails on a map); CEL says any value differs from null.
        return celtypes.BoolType(a is b)
    return bool_eq(a, b)


def _not_equal(a: Any, b: Any) -> Any:
    from celpy import celtypes
    from celpy.evaluation import bool_ne

    if a is None or b is None:
        return celtypes.BoolType(a is not b)
    return bool_ne(a, b)


_FUNCTIONS: dict[str, Any] = {
    "versionCompare": _version_compare,
    "versionMatches": _version_matches,
    "_==_": _equal,
    "_!=_": _not_equal,
}


@dataclass(frozen=True)
class Bindings:
    """Variables converted to CEL values once, for evaluating several programs."""

    values: Mapping[str, Any]


def bind(variables: Mapping[str, Any], *, now: datetime | None = None) -> Bindings:
    """Convert JSON-like variables (dicts, lists, strings, numbers, booleans, None) to CEL.

    `now`, when given, becomes the variable `now`, a CEL timestamp.
    """
    from celpy import celtypes
    from celpy.adapter import json_to_cel

    values: dict[str, Any] = {name: json_to_cel(value) for name, value in variables.items()}
    if now is not None:
        values["now"] = celtypes.TimestampType(now)
    return Bindings(values)


@dataclass(frozen=True)
class Program:
    """A compiled expression."""

    source: str
    _runner: Any

    def evaluate(self, bindings: Bindings) -> bool:
        """Evaluate to a boolean.

        Raises:
            CelError: evaluation failed (a missing field, a type error, a bad version, ...) or
                gave something other than a boolean.
        """
        from celpy import celtypes
        from celpy.evaluation import CELEvalError

        seconds = limit_seconds()
        try:
            with _deadline(seconds):
                result = self._runner.evaluate(dict(bindings.values))
        except _Expired:
            raise CelError(f"the evaluation took longer than {seconds} s "
                           f"(raise SBOMSIGN_CEL_SECONDS to allow more)") from None
        except CELEvalError as e:
            raise CelError(_eval_message(e)) from e
        except (RecursionError, ArithmeticError, TypeError, ValueError) as e:
            # NOTE: celpy lets some Python errors through (deep nesting, odd conversions).
            raise CelError(_one_line(f"{type(e).__name__}: {e}")) from e
        if isinstance(result, CELEvalError):
            raise CelError(_eval_message(result))
        if not isinstance(result, celtypes.BoolType):
            raise CelError(f"the expression gave a {_type_name(result)}, not a bool")
        return bool(result)


#: Seconds one expression may take to evaluate. The documents it walks come from outside (a
#: million-component SBOM), so a nested comprehension could otherwise run for hours.
DEFAULT_CEL_SECONDS = 10


def limit_seconds() -> int:
    """The evaluation time limit in force (`SBOMSIGN_CEL_SECONDS`, else 10 s)."""
    return limit("SBOMSIGN_CEL_SECONDS", DEFAULT_CEL_SECONDS)


class _Expired(BaseException):  # not an Exception: celpy must not catch it
    pass


#: After the deadline, the timer fires again this often until the evaluation has stopped.
_REPEAT_SECONDS = 0.05


@contextmanager
def _deadline(seconds: int) -> Iterator[None]:
    # NOTE: a timer signal is the only way to stop celpy's pure-Python evaluator in-process;
    # signals reach the main thread only, so evaluations elsewhere (none in sbomsign) run
    # unbounded rather than disturb another thread's handler.
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    armed = [True]

    def expired(signum: int, frame: object) -> None:
        if armed[0]:
            raise _Expired

    # NOTE: the timer repeats after the deadline. An exception raised by a signal handler is
    # lost when it lands where Python can only report it (a finaliser, a weakref callback);
    # one-shot, that left a runaway evaluation running for ever.
    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds, _REPEAT_SECONDS)
    try:
        yield
    finally:
        while True:
            try:
                armed[0] = False
                signal.setitimer(signal.ITIMER_REAL, 0)
                signal.signal(signal.SIGALRM, previous)
                break
            except _Expired:  # arrived before `armed` was cleared: disarm again
                continue


def _type_name(value: Any) -> str:
    name = type(value).__name__
    return name.removesuffix("Type").lower() if name.endswith("Type") else name


def compile(expression: str) -> Program:
    """Compile an expression.

    Raises:
        CelError: the expression is not valid CEL; the message names the line and column.
    """
    from celpy.celparser import CELParseError

    env = _environment()
    try:
        ast = env.compile(expression)
    except CELParseError as e:
        line = getattr(e, "line", None)
        column = getattr(e, "column", None)
        where = f" at line {line} column {column}" if line is not None else ""
        raise CelError(f"CEL syntax error{where}") from e
    except RecursionError as e:
        raise CelError("CEL expression is nested too deeply") from e
    runner = env.program(ast, functions=dict(_FUNCTIONS))
    return Program(expression, runner)
