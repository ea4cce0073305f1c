"""One event in one line, for `weboter history`: the fields a person reads first."""

from __future__ import annotations

import json
from typing import Any

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
    text = " ".join(parts)
    return text if len(text) <= WIDTH else text[: WIDTH - 3] + "..."
