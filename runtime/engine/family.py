"""A run's FanOut items on the event stream: a client that follows a run hears of its item
runs' events too (the progress of a fan-out), told apart by the parent they belong to.

Item runs are runs of their own (runtime/core/items.py): their events come on their own
topics. A `Family` learns them from the stream itself — an item run's first event,
`RunCreated`, names its parent (`item_of.run`) — so nothing has to be asked of the engine.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any

from weboter.runtime.store.eventlog import decode_event
from weboter.schemas.events import RunCreated

OnEvent = Callable[[dict[str, Any], bytes], None]


class Family:
    """The item runs (and their items) of the runs a client follows: item run -> that run."""

    def __init__(self) -> None:
        self.items: dict[str, str] = {}
        self.index: dict[str, int] = {}  # item run -> its item's number (from 1)

    def top(self, header: dict[str, Any], payload: bytes, runs: Collection[str]) -> str | None:
        """The followed run that the event's run is an item of (at any depth), or None."""
        run = str(header.get("run_id", ""))
        if run in self.items:
            return self.items[run]
        if header.get("type") != "RunCreated":
            return None
        try:
            created = decode_event("RunCreated", header.get("schema_version", 1), payload)
        except Exception:  # not ours to judge: the event is shown to its own followers
            return None
        if not isinstance(created, RunCreated) or created.item_of is None:
            return None
        parent = created.item_of.run
        top = self.items.get(parent, parent)
        if top not in runs:
            return None
        self.items[run] = top
        self.index[run] = created.item_of.index + 1
        return top

    def pass_on(
        self, header: dict[str, Any], payload: bytes, runs: Collection[str], on_event: OnEvent
    ) -> None:
        """Hand an item run's event to `on_event`, its header naming the followed run
        (`item_of`) and the item's number (`item`, from 1); any other run's event is dropped."""
        top = self.top(header, payload, runs)
        if top is not None:
            item = self.index.get(str(header.get("run_id", "")), 0)
            on_event({**header, "item_of": top, "item": item}, payload)
