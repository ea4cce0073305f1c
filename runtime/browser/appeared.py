"""What appeared on a page after an act that left its URL as it was (a click that opened a
dialog, added to a cart, showed a message): read from two ARIA snapshots of the page, before
and after. The first element after that was in no line before and is the only one of its kind
(role and name, or its text) becomes the act's `expect_visible` post-condition
(runtime/browser/expect.py): a replay on which it does not appear stops in ERROR."""

from __future__ import annotations

import re
from typing import Any

_LINE = re.compile(
    r'^\s*-\s*([a-z]+)(?:\s+"((?:[^"\\]|\\.)*)")?(?:\s*\[[^\]]*\])*\s*(?::\s*(.*))?$'
)
_TEXT = re.compile(r'^\s*-\s*text:\s*"?(.*?)"?\s*$')
# roles whose line holds a value the person typed or chose, not something that appeared
_VALUES = {"textbox", "combobox", "searchbox", "spinbutton", "slider", "checkbox", "radio"}
_FIRST = ("alert", "status", "dialog", "alertdialog", "heading")  # tried before the others
LONGEST = 80  # a longer name or text is too likely to change between runs


def _keys(aria: str) -> list[tuple[str, str, str]]:
    """(role, name) of each line, ("text", text) for a line whose words are its text; each
    with the line's own role (to try an alert's or a heading's first)."""
    keys = []
    for line in aria.splitlines():
        text = _TEXT.match(line)
        if text:
            keys.append(("text", "text", text.group(1)))
            continue
        found = _LINE.match(line)
        if not found:
            continue
        role, name, inline = found.group(1), found.group(2), (found.group(3) or "").strip()
        if name:
            keys.append((role, role, name.replace('\\"', '"')))
        elif inline and role not in _VALUES:
            keys.append((role, "text", inline.strip('"')))
    return keys


def appeared(before: str, after: str) -> dict[str, Any] | None:
    """A locator of an element in `after` that `before` did not have, or None."""
    seen = {(kind, name) for _role, kind, name in _keys(before)}
    lines = _keys(after)
    now = [(kind, name) for _role, kind, name in lines]
    new = [
        (role, kind, name)
        for role, kind, name in lines
        if (kind, name) not in seen
        and now.count((kind, name)) == 1
        and role not in _VALUES
        and 2 <= len(name) <= LONGEST
        and "$env{" not in name  # a secret shown on the page is never written down
    ]
    if not new:
        return None
    new.sort(key=lambda found: _FIRST.index(found[0]) if found[0] in _FIRST else len(_FIRST))
    _role, kind, name = new[0]
    if kind == "text":
        return {"element": name, "type": "text", "ext": {"exact": True}}
    return {"element": kind, "type": "role", "ext": {"name": name, "exact": True}}
