"""What the dev UI shows, read from the log when asked through the store's one read path
(runtime/store/reading.py, the same as the CLI's and MCP's): a run with its graph, the state at
any event of its timeline, a page of its events, its pending repair suggestions. Secrets are
shown as their `$env{...}` references; long values are cut in place.

Every event is named by its seq, the log's one numbering (it counts across all the runs in the
log): the timeline shows it, and `at`, a fork and a rewind take it, so a number read on the page
works with `weboter state RUN --at SEQ` too. Nothing here reads a whole run, so a run of 100,000
events opens as fast as a short one (outline.py reads it once per server).
"""

from __future__ import annotations

from typing import Any

import msgspec

from weboter.runtime.ai.models import ModelConfig
from weboter.runtime.core.catalog import Catalog
from weboter.runtime.core.decide import PAUSABLE, STARTABLE, STOPPABLE
from weboter.runtime.core.references import display
from weboter.runtime.errors import UsageError
from weboter.runtime.store.projection import variables_of
from weboter.runtime.store.reading import Reader
from weboter.runtime.store.views import event_line, shortened
from weboter.runtime.ui.drivers import driver_of
from weboter.runtime.ui.graph import graph_of
from weboter.runtime.ui.outline import Outlines

MAX_EVENTS = 500  # events per page of the timeline's list
AROUND = 12  # events listed on each side of a point of the timeline
PAGE_STEPS = 100  # steps looked back through for the page shown at a point
SCAN = 20_000  # events one search request looks through (it says where it stopped)
REPAIRS = ("NodeFailed", "RepairSuggested", "RepairApplied", "RepairRejected")
# what each button may do to a run in each status: the engine's own rules (core/decide.py)
DRIVABLE = {
    "continue": tuple(str(s) for s in STARTABLE),
    "step": tuple(str(s) for s in STARTABLE),
    "over": tuple(str(s) for s in STARTABLE),
    "pause": tuple(str(s) for s in PAUSABLE),
    "stop": tuple(str(s) for s in STOPPABLE),
}


def can(status: str) -> list[str]:
    """The buttons a run in `status` allows (retry and skip: in ERROR)."""
    verbs = [verb for verb, allowed in DRIVABLE.items() if status in allowed]
    return verbs + (["retry", "skip"] if status == "ERROR" else [])


def run_view(log: Reader, catalog: Catalog, outlines: Outlines, run_id: str) -> dict[str, Any]:
    """A run as its page opens: status, graph, where it is, breakpoints, error, repairs, and
    the seqs of its first and last events (the ends of its timeline)."""
    run = log.run_id(run_id)
    state = log.state(run)
    frame = state.frames[-1] if state.frames else None
    return {
        "run_id": run,
        "workflow": {"id": state.workflow.id, "name": state.workflow.name},
        "status": str(state.status),
        "can": can(str(state.status)),
        "events": state.version,  # how many (seqs first_seq … seq, skipping other runs')
        "first_seq": log.first_seq(run),
        "seq": state.seq,
        "current": None
        if frame is None or frame.cursor is None
        else {"path": frame.flow_path, "node": frame.cursor},
        "pause_reason": state.pause_reason if str(state.status) == "PAUSED" else "",
        "waiting_for": state.waiting_for,
        "error": display(msgspec.to_builtins(state.error)) if state.error else None,
        "breakpoints": msgspec.to_builtins(state.breakpoints),
        "parent_run": state.parent_run,
        "parent_seq": state.parent_seq,
        "children": log.children(run),
        # an item run of a FanOut: {run, node, index, ...} (runtime/core/items.py)
        "item_of": msgspec.to_builtins(state.item_of) if state.item_of else None,
        "flows": graph_of(state.workflow, catalog),
        **outlines.graph_at(log, run),  # marks, taken: as the run stands
        "suggestions": suggestions(log, run) if str(state.status) in ("ERROR", "PAUSED") else [],
        "model": ModelConfig.from_env() is not None,  # "Ask the AI" can be offered
        "driver": driver_of(log, run),  # who drives it (or drove it): drivers.py
    }


def at_seq(log: Reader, outlines: Outlines, run_id: str, seq: Any) -> dict[str, Any]:
    """The run right after its event at `seq` (or its last one before it: a slider may point
    between two): the event, the state (variables with what that event changed), the evidence
    of the step it belongs to, the graph as of then, the events around it and the seqs of its
    neighbours."""
    run = log.run_id(run_id)
    row = log.event_at(run, seq)
    state = log.state(run, row.seq)
    near = log.around(run, row.seq, AROUND)
    here = next(i for i, r in enumerate(near) if r.seq == row.seq)
    previous = near[here - 1].seq if here > 0 else None
    following = near[here + 1].seq if here + 1 < len(near) else None
    now = variables_of(state)
    before = (
        variables_of(log.state(run, previous))
        if previous is not None
        else {"global": {}, "flow": {}}
    )
    changed = [
        f"{scope}.{name}"
        for scope in ("global", "flow")
        for name in sorted(set(now[scope]) | set(before[scope]))  # type: ignore[call-overload]
        if now[scope].get(name, None) != before[scope].get(name, None)  # type: ignore[attr-defined]
    ]
    found = log.evidence(run, row.seq, steps=PAGE_STEPS)  # a data node's step: the last page
    return {
        "run_id": run,
        "seq": row.seq,
        "first_seq": log.first_seq(run),
        "last_seq": log.last_seq(run),
        "previous": previous,
        "next": following,
        "event": event_line(row),
        "status": str(state.status),
        "current_node": state.current_node,
        "current": None
        if not state.frames or state.frames[-1].cursor is None
        else {"path": state.frames[-1].flow_path, "node": state.frames[-1].cursor},
        "graph": outlines.graph_at(log, run, row.seq),
        "variables": shortened({"global": now["global"], "flow": now["flow"]}),
        "changed": changed,
        "evidence": None
        if found is None
        else {"node_id": found.node_id, "seq": found.seq, **found.kept},
        "around": [event_line(r) for r in near],
    }


def events_page(log: Reader, run_id: str, after: int, limit: int, q: str = "") -> dict[str, Any]:
    """The run's events with seq > `after`, oldest first, at most `limit` (≤ MAX_EVENTS);
    page on with `next_after`. With `q`: only those whose type, node or content has that text
    (any case), looking through at most SCAN events per request (`next_after` says how far)."""
    run = log.run_id(run_id)
    if after < 0:
        raise UsageError(f"after must be a seq, 0 or more (got {after})")
    limit = max(1, min(limit, MAX_EVENTS))
    if not q:
        rows = log.events(run, after=after, limit=limit)
        lines, reached = [event_line(r) for r in rows], (rows[-1].seq if rows else after)
    else:
        lines, reached = _searched(log, run, after, limit, q.lower())
    return {
        "run_id": run,
        "events": lines,
        "next_after": reached,
        "last_seq": log.last_seq(run),
    }


def _searched(log: Reader, run: str, after: int, limit: int, q: str) -> tuple[list[Any], int]:
    found: list[dict[str, Any]] = []
    reached, looked = after, 0
    while len(found) < limit and looked < SCAN:
        rows = log.events(run, after=reached, limit=MAX_EVENTS)
        if not rows:
            break
        for row in rows:
            reached, looked = row.seq, looked + 1
            line = event_line(row)
            if q in msgspec.json.encode(line).decode().lower():
                found.append(line)
                if len(found) == limit:
                    break
    return found, reached


def suggestions(log: Reader, run_id: str) -> list[dict[str, Any]]:
    """Repairs suggested since the run last failed and neither applied nor rejected since."""
    open_: list[dict[str, Any]] = []
    newest = log.of_types(run_id, REPAIRS, newest_first=True, limit=50)
    for row in log.decoded(newest[::-1]):
        event = row.event
        if row.type == "NodeFailed":
            open_ = []
        elif row.type == "RepairSuggested":
            open_.append(
                {
                    "seq": row.seq,
                    "node_id": event.node_id,  # type: ignore[union-attr]
                    "source": event.source,  # type: ignore[union-attr]
                    "confidence": event.confidence,  # type: ignore[union-attr]
                    "needs_approval": event.held,  # type: ignore[union-attr]
                    "action": display(msgspec.to_builtins(event.action)),  # type: ignore[union-attr]
                }
            )
        else:  # applied or rejected: the suggestions before it are settled
            open_ = []
    return open_
