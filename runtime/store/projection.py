"""Reading runs back: `state_at` (nearest snapshot + fold of the tail), history, snapshots."""

from __future__ import annotations

from weboter.runtime.core.flows import index_for
from weboter.runtime.core.fold import fold
from weboter.runtime.core.references import display
from weboter.runtime.errors import RunNotFound
from weboter.runtime.store.eventlog import EventLog
from weboter.schemas.context import ContextSnapshot, NodeHistory
from weboter.schemas.events import EventRecord, NodeCompleted, NodeFailed, SubFlowReturned
from weboter.schemas.state import RunState
from weboter.schemas.workflow import Workflow


def state_at(log: EventLog, run_id: str, seq: int | None = None) -> RunState:
    """The state of `run_id` right after the event at global `seq` (default: the latest)."""
    if seq is not None and seq > (last := log.last_seq()):
        raise RunNotFound(
            f"seq {seq} is beyond the log (its last event is seq {last})",
            hint="give a seq the run's history lists, or none for its latest state",
        )
    base = log.snapshot_before(run_id, seq)
    after = base.seq if base is not None else 0
    state = fold(log.read(run_id, after_seq=after, until_seq=seq), base)
    if state is None:
        where = f" at or before seq {seq}" if seq is not None else ""
        raise RunNotFound(
            f"run {run_id} has no events{where}",
            hint="`weboter history RUN` lists its events and their seqs",
        )
    return state


def node_history(records: list[EventRecord], workflow: Workflow | None = None) -> list[NodeHistory]:
    """The executed nodes among `records` (with their action, when `workflow` is given)."""
    index = index_for(workflow) if workflow is not None else None

    def action(path: list[str], node_id: str) -> str:
        node = index.node(tuple(path), node_id) if index is not None else None
        return node.action if node is not None else ""

    found: list[NodeHistory] = []
    for record in records:
        event = record.event
        if isinstance(event, NodeCompleted):
            found.append(
                NodeHistory(
                    seq=record.seq,
                    node_id=event.node_id,
                    action=event.action or action(event.flow_path, event.node_id),
                    flow_path=event.flow_path,
                    outputs=display(event.outputs),
                    next_node=event.next_node,
                    duration_ms=event.duration_ms,
                )
            )
        elif isinstance(event, SubFlowReturned):
            found.append(
                NodeHistory(
                    seq=record.seq,
                    node_id=event.node_id,
                    action="SubFlow",
                    flow_path=event.flow_path,
                    outputs=display(event.outputs),
                    next_node=event.next_node,
                    duration_ms=0.0,
                )
            )
        elif isinstance(event, NodeFailed):
            found.append(
                NodeHistory(
                    seq=record.seq,
                    node_id=event.node_id,
                    action=event.action or action(event.error.flow_path, event.node_id),
                    flow_path=event.error.flow_path,
                    outputs={},
                    next_node="",
                    duration_ms=0.0,
                    error=event.error,
                )
            )
    return found


def variables_of(state: RunState) -> dict[str, object]:
    """Every variable a person would look at, secrets shown as their references."""
    return display(
        {
            "global": state.globals,
            "flow": state.frame.vars if state.frames else {},
            "frames": [{"flow": "/".join(f.flow_path), "vars": f.vars} for f in state.frames],
            "prev": state.prev_outputs,
        }
    )


def context_snapshot(
    log: EventLog, run_id: str, seq: int | None = None, *, history: bool = True
) -> ContextSnapshot:
    state = state_at(log, run_id, seq)
    records = list(log.read(run_id, until_seq=state.seq)) if history else []
    return ContextSnapshot(
        job_id=run_id,
        timestamp=state.updated_at,
        current_node=state.current_node,
        variables=variables_of(state),
        history=node_history(records, state.workflow),
        status=state.status,
        seq=state.seq,
    )
