"""Limits on the values a run carries: what msgpack and the log can hold, and what keeps a
hostile or careless input from exhausting the engine. Every breach is a clear `ValueRefused`
that names where the value is.

- whole numbers fit in 64 bits (msgpack's range: -2**63 .. 2**64-1). Beyond that a value must
  be text (or a float): Weboter refuses it rather than guess;
- nesting (lists in maps in lists ...) at most MAX_DEPTH deep;
- at most MAX_ITEMS values in one value, counting shared parts each time they occur (a YAML
  alias bomb of 400 bytes expands to billions of items: refused here, quickly);
- text at most MAX_TEXT characters.
"""

from __future__ import annotations

from typing import Any

from weboter.runtime.errors import ValueRefused

INT_MIN, INT_MAX = -(2**63), 2**64 - 1
MAX_DEPTH = 64
MAX_ITEMS = 1_000_000
MAX_TEXT = 50_000_000


def check_value(value: Any, where: str) -> None:
    """ValueRefused if `value` breaks a limit; `where` names it in the message."""
    if flat(value):
        return  # the usual outputs: a few numbers and short texts
    # each item with the way to it: (parent's way, key), made into text only for a message
    todo: list[tuple[Any, Any, int]] = [(value, where, 0)]
    seen = 0
    while todo:
        item, way, depth = todo.pop()
        seen += 1
        if seen > MAX_ITEMS:
            raise ValueRefused(
                f"{where} holds more than {MAX_ITEMS:,} values (YAML aliases that repeat "
                "a part count each time)",
                hint="split the data, or keep it in a file and read it with an action",
            )
        if isinstance(item, bool) or item is None or isinstance(item, float):
            continue
        if isinstance(item, int):
            if not INT_MIN <= item <= INT_MAX:
                raise ValueRefused(
                    f"{_path(way)}: the whole number {_short(item)} does not fit in 64 bits",
                    hint="write it as text (in quotes), or as a float if precision may go",
                )
        elif isinstance(item, str):
            if len(item) > MAX_TEXT:
                raise ValueRefused(f"{_path(way)}: text of {len(item):,} characters is too long")
        elif isinstance(item, dict | list | tuple):
            if depth >= MAX_DEPTH:
                raise ValueRefused(
                    f"{_path(way)}: nested more than {MAX_DEPTH} levels deep",
                    hint="flatten the data; nothing a workflow needs is nested this deep",
                )
            pairs = item.items() if isinstance(item, dict) else enumerate(item)
            todo.extend((v, (way, k), depth + 1) for k, v in pairs)


def flat(value: Any) -> bool:
    """True for a dict of plain values within the limits (numbers, flags, short texts, None)
    under text keys: nothing in it to check further, and nothing msgpack would change or a
    message's reader refuse (no tuple, no object, no key that is not text)."""
    if type(value) is not dict or len(value) >= MAX_ITEMS:
        return False
    return all(type(key) is str and _plain(item) for key, item in value.items())


def _plain(item: Any) -> bool:
    """True for a value within the limits by itself: no container, no long text or number."""
    kind = type(item)
    if kind is str:
        return len(item) <= MAX_TEXT
    if kind is int:
        return INT_MIN <= item <= INT_MAX
    return kind is float or kind is bool or item is None


def _path(way: Any) -> str:
    """`where.key[2].name` from the (parent's way, key) chain `check_value` keeps."""
    keys: list[Any] = []
    while isinstance(way, tuple):
        way, key = way
        keys.append(key)
    text = str(way)
    for key in reversed(keys):
        text += f"[{key}]" if isinstance(key, int) else f".{key}"
    return text


def _short(number: int) -> str:
    """The number, or how many bits it has when it is long (printing it could be slow)."""
    bits = number.bit_length()
    return str(number) if bits <= 128 else f"of {bits} bits"
