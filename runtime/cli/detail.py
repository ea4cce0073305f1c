"""One event in one line, for `weboter history`: the fields a person reads first."""

from __future__ import annotations

import json
import re
from typing import Any

# control characters a terminal would act on (escape sequences: colours, cursor moves, a cleared
# screen), but for newline and tab: text from a page or a model is shown, never obeyed
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def printable(text: str) -> str:
    """`text` safe for a terminal: every control character shown as `\\xNN`."""
    return _CONTROLS.sub(lambda found: f"\\x{ord(found.group(0)):02x}", text)


# in this order; a field left empty is left out
DETAIL_KEYS = (
    "node_id",
    "next_node",
    "outputs",
    "flow_vars",
    "global_vars",
    "mode",
    "end",
    "error",
    "name",
    "value",
    "scope",
    "source",
    "worker",
    "action",
    "confidence",
    "changes",
    "reason",
)
WIDTH = 140


def detail(event: dict[str, Any]) -> str:
    """`node_id="read" outputs={...} ...`, cut to WIDTH characters."""
    parts = []
    for key in DETAIL_KEYS:
        if key in event and event[key] not in ({}, None, ""):
            value = event[key]
            if key == "error":
                value = value.get("message")
            parts.append(f"{key}={json.dumps(value, ensure_ascii=False, default=str)}")
    text = printable(" ".join(parts))
    return text if len(text) <= WIDTH else text[: WIDTH - 3] + "..."
