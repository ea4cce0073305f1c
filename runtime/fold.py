"""The projection: `apply(state, event) -> state`, pure, and `fold` over many events.

Nothing here decides anything; it only applies facts (see runtime/decide.py for decisions).
States are never mutated in place: a new RunState shares what did not change.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from msgspec.structs import replace

from weboter.schemas.events import (
    Event,
    EventRecord,
    NodeAttemptFailed,
    NodeCompleted,
    NodeFailed,
    RunCompleted,
    RunCreated,
    RunFailed,
    RunPaused,
    RunResumed,
    RunStarted,
    RunStopped,
    SubFlowEntered,
    SubFlowReturned,
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


def apply(state: RunState | None, event: Event, *, seq: int, version: int, at: float) -> RunState:
    """The state after `event` (recorded at `seq`/`version`/`at`)."""
    if isinstance(event, RunCreated):
        if state is not None:
            raise FoldError(f"run {event.run_id} is created twice (at version {version})")
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
        )
    if state is None:
        raise FoldError(f"{type(event).__name__} at version {version} comes before RunCreated")
    common: dict[str, Any] = {"version": version, "seq": seq, "updated_at": at}

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
            **common,
        )
    if isinstance(event, NodeAttemptFailed):
        return replace(state, **common)
    if isinstance(event, RunStarted | RunResumed):
        status = RunStatus.STEPPING if event.mode == "step" else RunStatus.RUNNING
        return replace(state, status=status, error=None, **common)
    if isinstance(event, NodeFailed):
        return replace(state, status=RunStatus.ERROR, error=event.error, **common)
    if isinstance(event, RunPaused):
        return replace(state, status=RunStatus.PAUSED, **common)
    if isinstance(event, RunCompleted):
        return replace(state, status=RunStatus.COMPLETED, **common)
    if isinstance(event, RunFailed):
        return replace(state, status=RunStatus.FAILED, error=event.error, **common)
    if isinstance(event, RunStopped):
        return replace(state, status=RunStatus.STOPPED, **common)
    raise FoldError(f"no fold rule for {type(event).__name__}")


def fold(records: Iterable[EventRecord], state: RunState | None = None) -> RunState | None:
    """Apply records in order, starting from `state` (a snapshot) or from nothing."""
    for record in records:
        state = apply(
            state, record.event, seq=record.seq, version=record.run_version, at=record.recorded_at
        )
    return state
