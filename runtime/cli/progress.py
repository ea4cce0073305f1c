"""What a run shows on stderr while it runs: a line per node (rate-limited after a first
burst), a line when its browser comes back, and repairs or moves as they come."""

from __future__ import annotations

import sys
import time
from typing import Any

import msgspec

from weboter.runtime.cli.detail import detail
from weboter.runtime.core.flows import index_for
from weboter.runtime.store.eventlog import decode_event
from weboter.schemas.events import BrowserRestored, NodeCompleted, NodeFailed, SubFlowReturned
from weboter.schemas.workflow import Workflow

SAID = {"RepairApplied": "fix ", "NodeRequeued": "move"}  # events said as they come


# Node lines: bursts of up to LINES_BURST, then at most LINES_PER_SECOND (a loop of thousands
# of nodes is not read line by line, and printing each would slow the run down)
LINES_BURST = 50
LINES_PER_SECOND = 20.0


class Progress:
    """Prints one line per executed node on stderr (prefixed with `tag`), at most
    LINES_PER_SECOND after a first burst (the next line says how many it passed over); and,
    unless `quiet`, how the run's browser came back (a re-drive repeats what the steps did)."""

    def __init__(
        self, workflow: Workflow, enabled: bool, tag: str = "", *, quiet: bool = False
    ) -> None:
        self.index = index_for(workflow)
        self.enabled = enabled
        self.quiet = quiet
        self.tag = tag
        self.nodes = 0
        self.hidden = 0  # node lines passed over since the last one printed
        self.items_ended = 0  # item runs of its FanOut nodes that ended
        self._lines: float = LINES_BURST  # lines that may be printed now (refilled as time goes)
        self._at = time.monotonic()

    def _may_print(self) -> bool:
        now = time.monotonic()
        self._lines = min(LINES_BURST, self._lines + (now - self._at) * LINES_PER_SECOND)
        self._at = now
        if self._lines >= 1:
            self._lines -= 1
            return True
        self.hidden += 1
        return False

    def finish(self, run_id: str) -> None:
        """Say how many node lines were passed over at the end (where to see them all)."""
        if self.enabled and self.hidden:
            print(
                f"{self.tag}  ... {self.hidden} more line(s) not shown; every node: "
                f"weboter history {run_id[:8]}",
                file=sys.stderr,
                flush=True,
            )
            self.hidden = 0

    def __call__(self, header: dict[str, Any], payload: bytes) -> None:
        type_ = header["type"]
        if header.get("item_of"):  # an item run of this run's FanOut
            self._item(header)
            return
        if type_ == "BrowserRestored" and not self.quiet:
            print(self.tag + restored_line(payload, header), file=sys.stderr, flush=True)
            return
        if type_ == "RunQueued" and self.enabled:  # every slot of the engine is taken
            ahead = msgspec.msgpack.decode(payload).get("ahead", 0)
            said = f"  [wait] queued ({ahead} ahead): the engine runs --max-runs runs at once"
            print(self.tag + said, file=sys.stderr, flush=True)
            return
        if type_ in SAID and not self.quiet:  # a repair, a node moved to another worker
            said = detail(
                msgspec.to_builtins(decode_event(type_, header["schema_version"], payload))
            )
            print(f"{self.tag}  [{SAID[type_]}] {said}", file=sys.stderr, flush=True)
            return
        if type_ not in ("NodeCompleted", "SubFlowReturned", "NodeFailed", "SubFlowEntered"):
            return
        node_line = type_ in ("NodeCompleted", "SubFlowReturned")
        self.nodes += node_line
        limited = node_line or type_ == "SubFlowEntered"  # a failure is always said
        if not self.enabled or (limited and not self._may_print()):
            return  # nothing decoded that is not shown
        event = decode_event(type_, header["schema_version"], payload)
        if isinstance(event, NodeCompleted | SubFlowReturned):
            node = self.index.node(event.flow_path, event.node_id)
            action = getattr(event, "action", "") or (node.action if node else "?")
            ms = getattr(event, "duration_ms", 0.0)
            line = (
                f"  [{self.nodes:>4}] {'/'.join(event.flow_path)}:{event.node_id:<16} "
                f"{action:<22} -> {event.next_node}  {ms:.1f} ms"
            )
            if self.hidden:
                line, self.hidden = f"{line}   (+{self.hidden} not shown)", 0
        elif isinstance(event, NodeFailed):
            line = f"  [fail] {event.node_id}: {event.error.message}"
        else:
            line = f"  [ -> ] entering sub-flow {'/'.join(getattr(event, 'flow_path', []))}"
        print(self.tag + line, file=sys.stderr, flush=True)

    def _item(self, header: dict[str, Any]) -> None:
        """One line per item run that ends (rate-limited as node lines; a failure always)."""
        type_ = header["type"]
        if type_ not in ITEM_ENDS:
            return
        self.items_ended += type_ in ("RunCompleted", "RunFailed", "RunStopped")
        if not self.enabled or (type_ == "RunCompleted" and not self._may_print()):
            return
        what = ITEM_ENDS[type_]
        line = f"  [item {header.get('item', '?')}] run {header['run_id'][:8]} {what}"
        if type_ in ("RunCompleted", "RunFailed", "RunStopped"):
            line += f" ({self.items_ended} ended)"
        print(self.tag + line, file=sys.stderr, flush=True)


ITEM_ENDS = {  # what is said of an item run (a failure or a pause always)
    "RunCompleted": "completed",
    "RunFailed": "FAILED",
    "RunStopped": "stopped",
    "RunPaused": "paused",
    "NodeFailed": "has a failed node (it waits in ERROR or fails)",
}


def restored_line(payload: bytes, header: dict[str, Any]) -> str:
    event = decode_event("BrowserRestored", header["schema_version"], payload)
    assert isinstance(event, BrowserRestored)
    how = "re-driving its browser steps" if event.mode == "redrive" else "from captured state"
    line = f"  browser restored {how} before {event.node_id} ({event.duration_ms:.0f} ms)"
    if event.fallback:
        line += f"; captured state was not enough: {'; '.join(event.fallback)}"
    if event.differences:
        line += f"; the page differs: {'; '.join(event.differences)}"
    return line
