"""The projection: `apply(state, event) -> state`, pure, and `fold` over many events.

Nothing here decides anything; it only applies facts (see runtime/core/decide.py for decisions).
States are never mutated in place: a new RunState shares what did not change.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from msgspec.structs import replace

from weboter.runtime.core.flows import add_node, patch_node
from weboter.schemas.events import (
    BreakpointCleared,
    BreakpointSet,
    BrowserRestored,
    Event,
    EventRecord,
    JumpedTo,
    NodeAdded,
    NodeAttemptFailed,
    NodeCompleted,
    NodeFailed,
    NodeInputsOverridden,
    NodePatched,
    NodeRequeued,
    PauseRequested,
    RepairApplied,
    RepairRejected,
    RepairSuggested,
    RunCompleted,
    RunCreated,
    RunFailed,
    RunPaused,
    RunResumed,
    RunRewound,
    RunStarted,
    RunStopped,
    SubFlowEntered,
    SubFlowReturned,
    VariableSet,
)
from weboter.schemas.state import Frame, RunState, RunStatus


class FoldError(Exception):
    """An event that cannot follow the state it is applied to (a corrupt or foreign log)."""


def _merged(base: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    return {**base, **changes} if changes else base


def _advance(
    frame: Frame, next_node: str, flow_vars: dict[str, Any], node_id: str, loop_count: int | None
) -> Frame:
    loops = frame.loops
    if loop_count is not None:
        loops = (
            {**loops, node_id: loop_count}
            if loop_count
            else {k: v for k, v in loops.items() if k != node_id}
        )
    return Frame(
        flow_path=frame.flow_path,
        cursor=next_node,
        vars=_merged(frame.vars, flow_vars),
        caller=frame.caller,
        loops=loops,
    )


def apply(  # table: one rule per event type
    state: RunState | None, event: Event, *, seq: int, version: int, at: float
) -> RunState:
    """The state after `event` (recorded at `seq`/`version`/`at`)."""
    if isinstance(event, RunCreated):
        if state is not None:
            raise FoldError(f"run {event.run_id} is created twice (at version {version})")
        if event.initial_state is not None:  # a fork: the parent's state, as this run's
            return replace(
                event.initial_state,
                run_id=event.run_id,
                status=RunStatus.LOADED,
                version=version,
                seq=seq,
                updated_at=at,
                parent_run=event.parent_run,
                parent_seq=event.parent_seq,
                error=None,
                pause_reason="",
                node_version=version,
                pause_requested=False,
                max_nodes=event.max_nodes,
                on_error=event.on_error,
                waiting_for="",
            )
        workflow = event.workflow
        return RunState(
            run_id=event.run_id,
            workflow=workflow,
            status=RunStatus.LOADED,
            version=version,
            seq=seq,
            globals=dict(event.variables),
            frames=[Frame(flow_path=[workflow.id], cursor=workflow.start)],
            parent_run=event.parent_run,
            parent_seq=event.parent_seq,
            updated_at=at,
            node_version=version,
            max_nodes=event.max_nodes,
            on_error=event.on_error,
        )
    if state is None:
        raise FoldError(f"{type(event).__name__} at version {version} comes before RunCreated")
    common: dict[str, Any] = {"version": version, "seq": seq, "updated_at": at}

    if isinstance(event, NodeInputsOverridden):
        return replace(state, next_inputs=event.inputs, **common)
    if isinstance(event, NodeCompleted):
        frames = [
            *state.frames[:-1],
            _advance(
                state.frames[-1], event.next_node, event.flow_vars, event.node_id, event.loop_count
            ),
        ]
        return replace(
            state,
            frames=frames,
            globals=_merged(state.globals, event.global_vars),
            prev_outputs=event.outputs,
            nodes_completed=state.nodes_completed + 1,
            browser=event.browser or state.browser,
            next_inputs=None,
            node_version=version,
            **common,
        )
    if isinstance(event, SubFlowEntered):
        frame = Frame(
            flow_path=list(event.flow_path),
            cursor=event.start_node,
            vars=dict(event.variables),
            caller=event.node_id,
        )
        return replace(
            state,
            frames=[*state.frames, frame],
            globals=_merged(state.globals, event.global_vars),
            node_version=version,
            **common,
        )
    if isinstance(event, SubFlowReturned):
        if len(state.frames) < 2:
            raise FoldError(f"SubFlowReturned at version {version} with no sub-flow active")
        caller = _advance(
            state.frames[-2], event.next_node, event.flow_vars, event.node_id, event.loop_count
        )
        return replace(
            state,
            frames=[*state.frames[:-2], caller],
            globals=_merged(state.globals, event.global_vars),
            prev_outputs=event.outputs,
            nodes_completed=state.nodes_completed + 1,
            node_version=version,
            **common,
        )
    if isinstance(event, NodeAttemptFailed | BrowserRestored | NodeRequeued):
        return replace(state, **common)
    if isinstance(event, RunStarted | RunResumed):
        status = RunStatus.STEPPING if event.mode == "step" else RunStatus.RUNNING
        if isinstance(event, RunStarted):  # a new start: an old pause request is void
            return replace(
                state,
                status=status,
                error=None,
                step_depth=event.over_depth,
                pause_requested=False,
                waiting_for="",
                **common,
            )
        return replace(state, status=status, error=None, step_depth=None, waiting_for="", **common)
    if isinstance(event, PauseRequested):
        return replace(state, pause_requested=True, **common)
    if isinstance(event, NodeFailed):
        return replace(
            state,
            status=RunStatus.ERROR,
            error=event.error,
            next_inputs=None,
            waiting_for="",
            **common,
        )
    if isinstance(event, RunPaused):
        breakpoints = state.breakpoints
        if event.breakpoint is not None:
            breakpoints = [b for b in breakpoints if not (b.id == event.breakpoint and b.once)]
        return replace(
            state,
            status=RunStatus.PAUSED,
            pause_reason=event.reason,
            breakpoints=breakpoints,
            step_depth=None,
            pause_requested=False,
            error=None,  # a repaired run leaves ERROR this way
            **common,
        )
    if isinstance(event, RepairSuggested):  # a record; one held back says why the run waits
        return replace(state, waiting_for=event.held or state.waiting_for, **common)
    if isinstance(event, RepairApplied | RepairRejected):  # the events after one change it
        return replace(state, waiting_for="", **common)
    if isinstance(event, BreakpointSet):
        kept = [b for b in state.breakpoints if b.id != event.breakpoint.id]
        return replace(state, breakpoints=[*kept, event.breakpoint], **common)
    if isinstance(event, BreakpointCleared):
        return replace(
            state, breakpoints=[b for b in state.breakpoints if b.id != event.id], **common
        )
    if isinstance(event, VariableSet):
        if event.scope == "global":
            return replace(state, globals={**state.globals, event.name: event.value}, **common)
        top = state.frames[-1]
        frame = Frame(
            flow_path=top.flow_path,
            cursor=top.cursor,
            vars={**top.vars, event.name: event.value},
            caller=top.caller,
            loops=top.loops,
        )
        return replace(state, frames=[*state.frames[:-1], frame], **common)
    if isinstance(event, NodePatched):
        workflow = patch_node(state.workflow, event.flow_path, event.node_id, event.changes)
        return replace(state, workflow=workflow, **common)
    if isinstance(event, NodeAdded):
        return replace(
            state, workflow=add_node(state.workflow, event.flow_path, event.node), **common
        )
    if isinstance(event, JumpedTo):
        top = state.frames[-1]
        frame = Frame(
            flow_path=top.flow_path,
            cursor=event.node_id,
            vars=top.vars,
            caller=top.caller,
            loops=top.loops,
        )
        return replace(state, frames=[*state.frames[:-1], frame], node_version=version, **common)
    if isinstance(event, RunRewound):
        # the earlier state, but this run's history goes on: version/seq move forward
        return replace(
            event.state,
            status=RunStatus.PAUSED,
            pause_reason="rewound",
            waiting_for="",
            breakpoints=state.breakpoints,
            node_version=version,
            pause_requested=False,
            **common,
        )
    if isinstance(event, RunCompleted):
        return replace(state, status=RunStatus.COMPLETED, waiting_for="", **common)
    if isinstance(event, RunFailed):
        return replace(state, status=RunStatus.FAILED, error=event.error, waiting_for="", **common)
    if isinstance(event, RunStopped):
        return replace(state, status=RunStatus.STOPPED, waiting_for="", **common)
    raise FoldError(f"no fold rule for {type(event).__name__}")


def fold(records: Iterable[EventRecord], state: RunState | None = None) -> RunState | None:
    """Apply records in order, starting from `state` (a snapshot) or from nothing."""
    for record in records:
        state = apply(
            state, record.event, seq=record.seq, version=record.run_version, at=record.recorded_at
        )
    return state
