"""The projection: `apply(state, event) -> state`, pure, and `fold` over many events.

Nothing here decides anything; it only applies facts (see runtime/core/decide.py for decisions).
One rule per event type (`RULES`, registered with `@rule`). States are never mutated in place:
a new RunState shares what did not change.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
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
    RepairRequested,
    RepairSuggested,
    RunCompleted,
    RunCreated,
    RunFailed,
    RunPaused,
    RunQueued,
    RunResumed,
    RunRewound,
    RunStarted,
    RunStopped,
    RunWaiting,
    SessionEnded,
    SessionOpened,
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


Common = dict[str, Any]  # version, seq, updated_at: what every event sets
Rule = Callable[[RunState, Any, Common], RunState]
RULES: dict[type[Any], Rule] = {}  # event type -> how it changes a state


def rule(*types: type[Any]) -> Callable[[Rule], Rule]:
    """Register a function as the fold's rule for `types` of events."""

    def register(fn: Rule) -> Rule:
        for kind in types:
            RULES[kind] = fn
        return fn

    return register


def apply(state: RunState | None, event: Event, *, seq: int, version: int, at: float) -> RunState:
    """The state after `event` (recorded at `seq`/`version`/`at`)."""
    if isinstance(event, RunCreated):
        if state is not None:
            raise FoldError(f"run {event.run_id} is created twice (at version {version})")
        return _created(event, seq=seq, version=version, at=at)
    if state is None:
        raise FoldError(f"{type(event).__name__} at version {version} comes before RunCreated")
    found = RULES.get(type(event))
    if found is None:
        raise FoldError(f"no fold rule for {type(event).__name__}")
    return found(state, event, {"version": version, "seq": seq, "updated_at": at})


def _created(event: RunCreated, *, seq: int, version: int, at: float) -> RunState:
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
            evidence=event.evidence or event.initial_state.evidence,
            waiting_for="",
            recoveries=0,
            item_of=event.item_of,  # a fork of an item run is a run of its own
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
        evidence=event.evidence,
    )


# --- a node ran ---------------------------------------------------------------------------


@rule(NodeCompleted)
def _completed(state: RunState, event: NodeCompleted, common: Common) -> RunState:
    top = _advance(
        state.frames[-1], event.next_node, event.flow_vars, event.node_id, event.loop_count
    )
    return replace(
        state,
        frames=[*state.frames[:-1], top],
        globals=_merged(state.globals, event.global_vars),
        prev_outputs=event.outputs,
        nodes_completed=state.nodes_completed + 1,
        browser=event.browser or state.browser,
        next_inputs=None,
        node_version=common["version"],
        recoveries=0,
        **common,
    )


@rule(NodeInputsOverridden)
def _inputs(state: RunState, event: NodeInputsOverridden, common: Common) -> RunState:
    return replace(state, next_inputs=event.inputs, **common)


@rule(NodeFailed)
def _failed(state: RunState, event: NodeFailed, common: Common) -> RunState:
    return replace(
        state,
        status=RunStatus.ERROR,
        error=event.error,
        next_inputs=None,
        waiting_for=event.error.waiting_for,
        **common,
    )


@rule(NodeAttemptFailed, BrowserRestored, NodeRequeued, PauseRequested)
def _recorded(state: RunState, event: Event, common: Common) -> RunState:
    """Records only (a pause request is a flag the settler reads)."""
    if isinstance(event, PauseRequested):
        return replace(state, pause_requested=True, **common)
    return replace(state, **common)


# --- sub-flows ----------------------------------------------------------------------------


@rule(SubFlowEntered)
def _entered(state: RunState, event: SubFlowEntered, common: Common) -> RunState:
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
        node_version=common["version"],
        recoveries=0,
        **common,
    )


@rule(SubFlowReturned)
def _returned(state: RunState, event: SubFlowReturned, common: Common) -> RunState:
    if len(state.frames) < 2:
        raise FoldError(f"SubFlowReturned at version {common['version']} with no sub-flow active")
    caller = _advance(
        state.frames[-2], event.next_node, event.flow_vars, event.node_id, event.loop_count
    )
    return replace(
        state,
        frames=[*state.frames[:-2], caller],
        globals=_merged(state.globals, event.global_vars),
        prev_outputs=event.outputs,
        nodes_completed=state.nodes_completed + 1,
        node_version=common["version"],
        recoveries=0,
        **common,
    )


# --- driving: start, pause, end -----------------------------------------------------------


@rule(RunStarted)
def _started(state: RunState, event: RunStarted, common: Common) -> RunState:
    """A new start: an old pause request is void."""
    status = RunStatus.STEPPING if event.mode == "step" else RunStatus.RUNNING
    return replace(
        state,
        status=status,
        error=None,
        step_depth=event.over_depth,
        pause_requested=False,
        waiting_for="",
        **common,
    )


@rule(RunResumed)
def _resumed(state: RunState, event: RunResumed, common: Common) -> RunState:
    status = RunStatus.STEPPING if event.mode == "step" else RunStatus.RUNNING
    return replace(state, status=status, error=None, step_depth=None, waiting_for="", **common)


@rule(RunQueued)
def _queued(state: RunState, event: RunQueued, common: Common) -> RunState:
    """It waits for a run slot: no node runs, nothing is asked of it until it starts."""
    del event
    status = RunStatus.QUEUED
    return replace(state, status=status, step_depth=None, pause_requested=False, **common)


@rule(RunPaused)
def _paused(state: RunState, event: RunPaused, common: Common) -> RunState:
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


@rule(RunCompleted, RunFailed, RunStopped)
def _ended(
    state: RunState, event: RunCompleted | RunFailed | RunStopped, common: Common
) -> RunState:
    if isinstance(event, RunFailed):
        return replace(state, status=RunStatus.FAILED, error=event.error, waiting_for="", **common)
    status = RunStatus.COMPLETED if isinstance(event, RunCompleted) else RunStatus.STOPPED
    return replace(state, status=status, waiting_for="", **common)


# --- a person's (or a model's) changes ----------------------------------------------------


@rule(RepairSuggested)
def _suggested(state: RunState, event: RepairSuggested, common: Common) -> RunState:
    """A record; one held back says why the run waits."""
    return replace(state, waiting_for=event.held or state.waiting_for, **common)


@rule(RepairApplied, RepairRejected)
def _settled(state: RunState, event: Event, common: Common) -> RunState:
    """A record: the events after an applied repair change the run (a retry by the node's
    on_error policy uses one of its attempts)."""
    used = state.recoveries
    if isinstance(event, RepairApplied) and event.source == "policy":
        used += 1
    return replace(state, waiting_for="", recoveries=used, **common)


@rule(RepairRequested)
def _asked(state: RunState, event: RepairRequested, common: Common) -> RunState:
    """The model is asked: one of the policy's attempts at this node is used."""
    return replace(state, recoveries=event.attempt, waiting_for="", **common)


@rule(RunWaiting)
def _waiting(state: RunState, event: RunWaiting, common: Common) -> RunState:
    return replace(state, waiting_for=event.reason, **common)


@rule(BreakpointSet)
def _break(state: RunState, event: BreakpointSet, common: Common) -> RunState:
    kept = [b for b in state.breakpoints if b.id != event.breakpoint.id]
    return replace(state, breakpoints=[*kept, event.breakpoint], **common)


@rule(BreakpointCleared)
def _unbreak(state: RunState, event: BreakpointCleared, common: Common) -> RunState:
    return replace(state, breakpoints=[b for b in state.breakpoints if b.id != event.id], **common)


@rule(VariableSet)
def _set(state: RunState, event: VariableSet, common: Common) -> RunState:
    if event.scope == "global":
        return replace(state, globals={**state.globals, event.name: event.value}, **common)
    top = state.frames[-1]
    frame = replace(top, vars={**top.vars, event.name: event.value})
    return replace(state, frames=[*state.frames[:-1], frame], **common)


@rule(NodePatched)
def _patched(state: RunState, event: NodePatched, common: Common) -> RunState:
    workflow = patch_node(state.workflow, event.flow_path, event.node_id, event.changes)
    return replace(state, workflow=workflow, **common)


@rule(NodeAdded)
def _added(state: RunState, event: NodeAdded, common: Common) -> RunState:
    return replace(state, workflow=add_node(state.workflow, event.flow_path, event.node), **common)


@rule(SessionOpened)
def _session_opened(state: RunState, event: SessionOpened, common: Common) -> RunState:
    return replace(state, session=True, **common)


@rule(SessionEnded)
def _session_ended(state: RunState, event: SessionEnded, common: Common) -> RunState:
    return replace(state, session=False, **common)


@rule(JumpedTo)
def _jumped(state: RunState, event: JumpedTo, common: Common) -> RunState:
    frame = replace(state.frames[-1], cursor=event.node_id)
    return replace(
        state,
        frames=[*state.frames[:-1], frame],
        node_version=common["version"],
        recoveries=0,
        **common,
    )


@rule(RunRewound)
def _rewound(state: RunState, event: RunRewound, common: Common) -> RunState:
    """The earlier state, but this run's history goes on: version and seq move forward."""
    return replace(
        event.state,
        status=RunStatus.PAUSED,
        pause_reason="rewound",
        waiting_for="",
        breakpoints=state.breakpoints,
        node_version=common["version"],
        pause_requested=False,
        **common,
    )


def fold(records: Iterable[EventRecord], state: RunState | None = None) -> RunState | None:
    """Apply records in order, starting from `state` (a snapshot) or from nothing."""
    for record in records:
        state = apply(
            state, record.event, seq=record.seq, version=record.run_version, at=record.recorded_at
        )
    return state
