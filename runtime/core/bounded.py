"""Bounds for expressions: operators and calls whose result could be huge are checked before
they run, so `'a'.ljust(10**9)`, `'%0999999999d' % 1`, `4000000**4000000` or
`str([[1]*99999]*99999)` become an ExpressionError at once instead of gigabytes and minutes.
Regular expressions run with a time limit (the `regex` package).

The limits are on sizes the evaluator can know before it acts: the length of text or lists it
would build (MAX_LENGTH), the bits of a whole number (MAX_BITS), the values a function would
walk (MAX_WALK). Methods of text, lists and maps are limited to a list that cannot build
anything big except through a checked argument.

Each of those bounds one operation; a comprehension repeats its element for every item, so
`[[1]*99999 for x in 'a'*9999]` would build 10**9 items out of operations that each pass. So
one expression also has a budget of work (MAX_WORK): every item an operation builds, searches
or walks is counted (`spend`), and the expression is refused once its total passes the budget,
whatever shape the work has (nested comprehensions, generators fed to `sum`, slices, f-strings).
"""

from __future__ import annotations

import operator
import re
import threading
import time
from collections.abc import Callable
from typing import Any

import regex

from weboter.runtime.errors import ExpressionError

MAX_LENGTH = 10_000_000  # characters of text, items of a list, built by one operation
MAX_BITS = 100_000  # a whole number's size (about 30,000 digits)
MAX_WALK = 200_000  # values a function like str() or sorted() may walk
MAX_WORK = 10_000_000  # items one expression may build, search or walk in all
WALK_COST = 10  # a value walked in Python costs as much as this many items built in C
REGEX_SECONDS = 2.0  # the longest a regular expression may search

_FORMAT_WIDTH = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(\d+|\*)?(?:\.(\d+|\*))?")


HINT = "expressions are for small values; do big work with an action made for it"


def _refuse(what: str) -> ExpressionError:
    return ExpressionError(f"{what}: refused (too big for an expression)", hint=HINT)


class _Work(threading.local):
    done = 0  # items built, searched or walked by the expression this thread evaluates
    regex_left = REGEX_SECONDS  # the time its regular expressions may still search


_work = _Work()


def start_work() -> None:
    """A new expression: nothing spent yet (each thread evaluates its own)."""
    _work.done = 0
    _work.regex_left = REGEX_SECONDS


def spend(items: int, what: str | Callable[[], str]) -> None:
    """Count `items` built, searched or walked by `what` (an operation, or a function that
    describes it: only called to refuse); ExpressionError once the expression's total would
    pass MAX_WORK."""
    done = _work.done + items
    _work.done = done
    if done > MAX_WORK:
        said = what() if callable(what) else what
        raise ExpressionError(
            f"{said} ({items:,} items) would bring what this expression builds, searches and "
            f"walks to {done:,} items: refused (at most {MAX_WORK:,} in all)",
            hint=HINT + " (a comprehension repeats its element's work for every item)",
        )


def items(value: Any) -> int:
    """The items `value` is made of, as the work budget counts them: characters of text,
    items of lists and maps, 64-bit words of a whole number."""
    if isinstance(value, str | bytes | list | tuple | dict | set | frozenset):
        return len(value)
    if isinstance(value, int):
        return value.bit_length() >> 6
    return 0


def scanned(value: Any) -> int:
    """The work of looking through `value` once: text counts an item per 64 characters (a
    search through text is that much faster than building it), a list or map per item."""
    if isinstance(value, str | bytes):
        return len(value) >> 6
    return len(value) if isinstance(value, list | tuple | dict | set | frozenset) else 0


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
    walked = size(value)
    if walked > MAX_WALK:
        raise _refuse(f"{what} of a value with more than {MAX_WALK:,} parts")
    spend(walked * WALK_COST, what)


def _length(value: Any) -> int:
    return len(value) if isinstance(value, str | bytes | list | tuple) else 0


def mul(a: Any, b: Any) -> Any:
    for seq, n in ((a, b), (b, a)):
        length = _length(seq)
        if length and isinstance(n, int):
            what = f"repeating {length:,} items {n:,} times"
            if length * n > MAX_LENGTH:
                raise _refuse(what)
            spend(max(length * n, 0), what)
            break
    return operator.mul(a, b)


def add(a: Any, b: Any) -> Any:
    joined = _length(a) + _length(b)
    if joined > MAX_LENGTH:
        raise _refuse("joining two values that long")
    if joined:
        spend(joined, "joining two values")
    return operator.add(a, b)


def power(a: Any, b: Any) -> Any:
    big = isinstance(a, int) and isinstance(b, int) and b > 0 and abs(a) > 1
    if big and b * abs(a).bit_length() > MAX_BITS:
        raise _refuse(f"{a} ** {b} (about {b * abs(a).bit_length():,} bits)")
    if big:
        spend((b * abs(a).bit_length()) >> 6, lambda: f"{a} ** {b}")
    return operator.pow(a, b)


def lshift(a: Any, b: Any) -> Any:
    if isinstance(a, int) and isinstance(b, int) and b > MAX_BITS:
        raise _refuse(f"{a} << {b}")
    if isinstance(b, int) and b > 0:
        spend(b >> 6, lambda: f"{a} << {b}")
    return operator.lshift(a, b)


def contains(container: Any, value: Any) -> bool:
    """`value in container`: searching text or a list is work too."""
    searched = scanned(container)
    if searched:
        spend(searched, "searching with `in`")
    return value in container


def mod(a: Any, b: Any) -> Any:
    if isinstance(a, str | bytes):
        text = a if isinstance(a, str) else a.decode(errors="replace")
        for width, precision in _FORMAT_WIDTH.findall(text):
            for number in (width, precision):
                if number == "*" or (number and int(number) > 10_000):
                    raise _refuse(f"formatting with a width of {number}")
        formatted = operator.mod(a, b)
        spend(len(formatted), "%-formatting")
        return formatted
    return operator.mod(a, b)


def regex_search(pattern: Any, text: Any) -> str | None:
    """The first match of `pattern` in `text`. All the searches of one expression together
    take at most REGEX_SECONDS (a comprehension must not repeat a slow search 10,000 times)."""
    text = str(text)
    spend(scanned(text), "re_search()")
    started = time.monotonic()
    try:
        found = regex.search(str(pattern), text, timeout=max(_work.regex_left, 0.001))
    except TimeoutError as exc:
        raise ExpressionError(
            f"the regular expression {pattern!r} ran longer than {REGEX_SECONDS} s "
            "(all the searches of one expression together)",
            hint="nested repeats like (a+)+ backtrack without end; make the pattern simpler",
        ) from exc
    finally:
        _work.regex_left -= time.monotonic() - started
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
