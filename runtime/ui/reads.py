"""What the dev UI shows, read from the log when asked (the same read model as the CLI and
the MCP server: `state_at`, the `runs` table): a run with its graph, the state at any event of
its timeline, a page of its events, its pending repair suggestions. Secrets are shown as their
`$env{...}` references; long values are cut in place.

A run's events are numbered by their run version (1, 2, … N): the timeline is over those, and
each maps to the global seq `state_at` takes. Nothing here reads a whole run, so a run of
100,000 events opens as fast as a short one (marks.py reads it once per server).
"""

from __future__ import annotations

from typing import Any

import msgspec

from weboter.runtime.ai.models import ModelConfig
from weboter.runtime.core.catalog import Catalog
from weboter.runtime.core.decide import PAUSABLE, STARTABLE, STOPPABLE
from weboter.runtime.core.references import display
from weboter.runtime.errors import UsageError
from weboter.runtime.mcp.common import shortened
from weboter.runtime.store.eventlog import EventLog, to_record
from weboter.runtime.store.projection import state_at, variables_of
from weboter.runtime.ui.graph import graph_of
from weboter.runtime.ui.marks import NodeMarks
from weboter.schemas.messages import StoredEvent

MAX_EVENTS = 500  # events per page of the timeline's list
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


def run_view(log: EventLog, catalog: Catalog, marks: NodeMarks, run_id: str) -> dict[str, Any]:
    """A run as its page opens: status, graph, where it is, breakpoints, error, repairs."""
    run = log.resolve_run_id(run_id)
    state = state_at(log, run)
    frame = state.frames[-1] if state.frames else None
    return {
        "run_id": run,
        "workflow": {"id": state.workflow.id, "name": state.workflow.name},
        "status": str(state.status),
        "can": can(str(state.status)),
        "version": state.version,
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
        "children": log.children_of(run),
        "flows": graph_of(state.workflow, catalog),
        "marks": marks.of(log, run),
        "suggestions": suggestions(log, run) if str(state.status) in ("ERROR", "PAUSED") else [],
        "model": ModelConfig.from_env() is not None,  # "Ask the AI" can be offered
    }


def at_version(log: EventLog, run_id: str, version: int) -> dict[str, Any]:
    """The run right after its event number `version`: the event, the state (variables with
    what that event changed), and the evidence of the step it belongs to."""
    run = log.resolve_run_id(run_id)
    row = event_at(log, run, version)
    last = log.last_version(run)
    state = state_at(log, run, row.seq)
    now = variables_of(state)
    before = (
        variables_of(state_at(log, run, log.stored_at_version(run, version - 1).seq))
        if (version > 1)
        else {"global": {}, "flow": {}}
    )
    changed = [
        f"{scope}.{name}"
        for scope in ("global", "flow")
        for name in sorted(set(now[scope]) | set(before[scope]))  # type: ignore[call-overload]
        if now[scope].get(name, None) != before[scope].get(name, None)  # type: ignore[attr-defined]
    ]
    return {
        "run_id": run,
        "version": version,
        "versions": last,
        "seq": row.seq,
        "event": describe(row),
        "status": str(state.status),
        "current_node": state.current_node,
        "variables": shortened({"global": now["global"], "flow": now["flow"]}),
        "changed": changed,
        "evidence": evidence_at(log, run, row.seq),
    }


def event_at(log: EventLog, run: str, version: Any) -> StoredEvent:
    """The run's event number `version` (1 … N); UsageError saying the range otherwise."""
    last = log.last_version(run)
    if isinstance(version, bool) or not isinstance(version, int) or not 1 <= version <= last:
        raise UsageError(
            f"run {run} has events 1 to {last}; there is no event {version}",
            hint="pick a point on the timeline",
        )
    return log.stored_at_version(run, version)


def events_page(log: EventLog, run_id: str, after_version: int, limit: int) -> dict[str, Any]:
    """Events `after_version`+1 … of a run, at most `limit` (≤ MAX_EVENTS)."""
    run = log.resolve_run_id(run_id)
    rows = log.stored_after_version(run, max(after_version, 0), max(1, min(limit, MAX_EVENTS)))
    return {
        "run_id": run,
        "events": [describe(r) for r in rows],
        "versions": log.last_version(run),
    }


def describe(row: Any) -> dict[str, Any]:
    """One event as a line of the timeline (the whole event, long values cut, no workflow)."""
    event = display(msgspec.to_builtins(to_record(row).event))
    event.pop("workflow", None)
    event.pop("initial_state", None)
    return {
        "version": row.run_version,
        "seq": row.seq,
        "type": row.type,
        "at": row.recorded_at,
        "node_id": event.get("node_id"),
        "detail": shortened(event),
    }


def evidence_at(log: EventLog, run_id: str, seq: int) -> dict[str, Any] | None:
    """The screenshot, URL and DOM of the last node step at or before `seq`, if it has any."""
    steps = ("NodeCompleted", "NodeFailed")
    for row in log.stored_of_types(run_id, steps, until_seq=seq, newest_first=True, limit=1):
        event = to_record(row).event
        found = getattr(event, "evidence", None) or getattr(
            getattr(event, "error", None), "evidence", None
        )
        if not found:
            return None
        shown = {k: v for k, v in found.items() if k != "storage"}  # cookies: never shown
        return {"node_id": getattr(event, "node_id", ""), "seq": row.seq, **display(shown)}
    return None


def suggestions(log: EventLog, run_id: str) -> list[dict[str, Any]]:
    """Repairs suggested since the run last failed and neither applied nor rejected since."""
    open_: list[dict[str, Any]] = []
    for row in reversed(log.stored_of_types(run_id, REPAIRS, newest_first=True, limit=50)):
        event = to_record(row).event
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
