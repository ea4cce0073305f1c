"""Upcasters: old event payloads are converted when read, never rewritten in the log.

Register one function per (event type, version it upgrades *from*); it takes the payload as
plain data (dicts/lists) and returns the payload of the next version:

    @upcaster("NodeCompleted", 1)
    def _node_completed_v1(payload: dict) -> dict:
        return {**payload, "inputs": payload.pop("args", {})}
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from weboter.runtime.errors import LogTooNew
from weboter.schemas.events import SCHEMA_VERSIONS

Upcaster = Callable[[dict[str, Any]], dict[str, Any]]
UPCASTERS: dict[tuple[str, int], Upcaster] = {}


def upcaster(event_type: str, from_version: int) -> Callable[[Upcaster], Upcaster]:
    def register(fn: Upcaster) -> Upcaster:
        UPCASTERS[(event_type, from_version)] = fn
        return fn

    return register


def upcast(event_type: str, version: int, payload: dict[str, Any]) -> dict[str, Any]:
    """`payload` of `event_type` at `version`, brought to the current version."""
    current = SCHEMA_VERSIONS.get(event_type)
    if current is None:
        raise LogTooNew(
            f"the log holds an event of unknown type {event_type!r}",
            hint="it was written by a newer Weboter; upgrade weboter to read it",
        )
    if version > current:
        raise LogTooNew(
            f"the log holds {event_type} version {version}; this Weboter reads up to {current}",
            hint="upgrade weboter to read this log",
        )
    while version < current:
        step = UPCASTERS.get((event_type, version))
        if step is None:
            raise LogTooNew(f"no upcaster for {event_type} version {version} -> {version + 1}")
        payload = step(payload)
        version += 1
    return payload
