"""Bounds for expressions: operators and calls whose result could be huge are checked before
they run, so `'a'.ljust(10**9)`, `'%0999999999d' % 1`, `4000000**4000000` or
`str([[1]*99999]*99999)` become an ExpressionError at once instead of gigabytes and minutes.
Regular expressions run with a time limit (the `regex` package).

The limits are on sizes the evaluator can know before it acts: the length of text or lists it
would build (MAX_LENGTH), the bits of a whole number (MAX_BITS), the values a function would
walk (MAX_WALK). Methods of text, lists and maps are limited to a list that cannot build
anything big except through a checked argument.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from typing import Any

import regex

from weboter.runtime.errors import ExpressionError

MAX_LENGTH = 10_000_000  # characters of text, items of a list, built by one operation
MAX_BITS = 100_000  # a whole number's size (about 30,000 digits)
MAX_WALK = 200_000  # values a function like str() or sorted() may walk
REGEX_SECONDS = 2.0  # the longest a regular expression may search

_FORMAT_WIDTH = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(\d+|\*)?(?:\.(\d+|\*))?")


HINT = "expressions are for small values; do big work with an action made for it"


def _refuse(what: str) -> ExpressionError:
    return ExpressionError(f"{what}: refused (too big for an expression)", hint=HINT)


def size(value: Any, cap: int = MAX_WALK) -> int:
    """How many values `value` holds (shared parts counted each time), stopping past `cap`."""
    todo, seen = [value], 0
    while todo and seen <= cap:
        item = todo.pop()
        seen += 1
        if isinstance(item, str | bytes):
            seen += len(item) // 64
        elif isinstance(item, dict):
            todo.extend(item.values())
            todo.extend(item.keys())
        elif isinstance(item, list | tuple | set | frozenset):
            todo.extend(item)
    return seen


def _walkable(value: Any, what: str) -> None:
    if size(value) > MAX_WALK:
        raise _refuse(f"{what} of a value with more than {MAX_WALK:,} parts")


def _length(value: Any) -> int:
    return len(value) if isinstance(value, str | bytes | list | tuple) else 0


def mul(a: Any, b: Any) -> Any:
    for seq, n in ((a, b), (b, a)):
        if _length(seq) and isinstance(n, int) and _length(seq) * n > MAX_LENGTH:
            raise _refuse(f"repeating {_length(seq):,} items {n:,} times")
    return operator.mul(a, b)


def add(a: Any, b: Any) -> Any:
    if _length(a) + _length(b) > MAX_LENGTH:
        raise _refuse("joining two values that long")
    return operator.add(a, b)


def power(a: Any, b: Any) -> Any:
    big = isinstance(a, int) and isinstance(b, int) and b > 0 and abs(a) > 1
    if big and b * abs(a).bit_length() > MAX_BITS:
        raise _refuse(f"{a} ** {b} (about {b * abs(a).bit_length():,} bits)")
    return operator.pow(a, b)


def lshift(a: Any, b: Any) -> Any:
    if isinstance(a, int) and isinstance(b, int) and b > MAX_BITS:
        raise _refuse(f"{a} << {b}")
    return operator.lshift(a, b)


def mod(a: Any, b: Any) -> Any:
    if isinstance(a, str | bytes):
        text = a if isinstance(a, str) else a.decode(errors="replace")
        for width, precision in _FORMAT_WIDTH.findall(text):
            for number in (width, precision):
                if number == "*" or (number and int(number) > 10_000):
                    raise _refuse(f"formatting with a width of {number}")
    return operator.mod(a, b)


def regex_search(pattern: Any, text: Any) -> str | None:
    """The first match of `pattern` in `text`, searched for at most REGEX_SECONDS."""
    try:
        found = regex.search(str(pattern), str(text), timeout=REGEX_SECONDS)
    except TimeoutError as exc:
        raise ExpressionError(
            f"the regular expression {pattern!r} ran longer than {REGEX_SECONDS} s",
            hint="nested repeats like (a+)+ backtrack without end; make the pattern simpler",
        ) from exc
    return found.group(0) if found else None


def walking(fn: Callable[..., Any], name: str) -> Callable[..., Any]:
    """`fn`, refusing arguments too big to walk (str, sorted, json_dumps, ...)."""

    def checked(*args: Any, **kwargs: Any) -> Any:
        for arg in (*args, *kwargs.values()):
            _walkable(arg, f"{name}()")
        return fn(*args, **kwargs)

    return checked


def bounded_sum(values: Any, start: Any = 0) -> Any:
    if not isinstance(start, int | float):
        raise _refuse("sum() of text or lists (use a join, or an action)")
    _walkable(values, "sum()")
    return sum(values, start)


def _width(method: str) -> Callable[..., Any]:
    def check(target: Any, *args: Any) -> None:
        if args and isinstance(args[0], int) and args[0] > MAX_LENGTH:
            raise _refuse(f".{method}({args[0]:,})")

    return check


def _expandtabs(target: Any, *args: Any) -> None:
    tab = args[0] if args and isinstance(args[0], int) else 8
    if target.count("\t") * tab > MAX_LENGTH:
        raise _refuse(f".expandtabs({tab:,})")


def _replace(target: Any, *args: Any) -> None:
    if len(args) >= 2 and isinstance(args[0], str) and isinstance(args[1], str):
        hits = target.count(args[0]) if args[0] else len(target) + 1
        if len(target) + hits * len(args[1]) > MAX_LENGTH:
            raise _refuse(".replace() that would build text that long")


def _join(target: Any, *args: Any) -> None:
    if args:
        _walkable(args[0], ".join()")


# methods an expression may call, with a check of their arguments (None: nothing to check)
METHODS: dict[type, dict[str, Callable[..., None] | None]] = {
    str: {
        **dict.fromkeys(
            [
                "lower",
                "upper",
                "strip",
                "lstrip",
                "rstrip",
                "split",
                "rsplit",
                "splitlines",
                "startswith",
                "endswith",
                "find",
                "rfind",
                "index",
                "rindex",
                "count",
                "isdigit",
                "isalpha",
                "isalnum",
                "isspace",
                "isnumeric",
                "isdecimal",
                "istitle",
                "islower",
                "isupper",
                "title",
                "capitalize",
                "casefold",
                "partition",
                "rpartition",
                "removeprefix",
                "removesuffix",
            ]
        ),
        **{m: _width(m) for m in ("ljust", "rjust", "center", "zfill")},
        "expandtabs": _expandtabs,
        "replace": _replace,
        "join": _join,
    },
    list: dict.fromkeys(["index", "count"]),
    tuple: dict.fromkeys(["index", "count"]),
    dict: dict.fromkeys(["get", "keys", "values", "items"]),
}


def check_method(func: Any) -> Callable[..., None] | None:
    """The argument check for a bound method an expression calls; ExpressionError if the
    method is not one an expression may call."""
    owner = getattr(func, "__self__", None)
    name = getattr(func, "__name__", "?")
    allowed = METHODS.get(type(owner))
    if allowed is None or name not in allowed:
        raise ExpressionError(
            f"the method .{name}() is not allowed in expressions",
            hint=f"text methods allowed: {', '.join(sorted(METHODS[str]))}",
        )
    return allowed[name]
