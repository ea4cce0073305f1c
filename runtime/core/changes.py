"""Breakpoints and live changes: what a debugger does to a run, decided like every command.

Breakpoints may be set or cleared on any run that has not ended, and variables set on a run
at rest or a driven one (from its next node on: a node in flight that writes the same variable
wins); the other live changes (nodes, the next node, rewinding, ending a session) only on a run
at rest: LOADED, PAUSED or ERROR. A run becomes an agent's session while it is LOADED.
"""

from __future__ import annotations

import typing
from collections.abc import Callable

from weboter.runtime.core.expressions import check_syntax
from weboter.runtime.core.flows import index_for, merged, undone
from weboter.runtime.errors import ExpressionError, IllegalTransition, RunNotFound
from weboter.schemas.events import (
    BreakpointCleared,
    BreakpointSet,
    Event,
    JumpedTo,
    NodeAdded,
    NodePatched,
    RunRewound,
    SessionEnded,
    SessionOpened,
    VariableSet,
)
from weboter.schemas.messages import (
    AddNode,
    ClearBreakpoint,
    EndSession,
    JumpTo,
    OpenSession,
    PatchNode,
    Rewind,
    SetBreakpoint,
    SetVariable,
)
from weboter.schemas.state import RunState, RunStatus
from weboter.schemas.workflow import END, EXIT

LiveCommand = (
    SetBreakpoint
    | ClearBreakpoint
    | SetVariable
    | PatchNode
    | AddNode
    | JumpTo
    | Rewind
    | OpenSession
    | EndSession
)
LIVE_COMMANDS = typing.get_args(LiveCommand)
RESTING = (RunStatus.LOADED, RunStatus.PAUSED, RunStatus.ERROR)
SETTABLE = (*RESTING, RunStatus.RUNNING, RunStatus.STEPPING)


def require(state: RunState, command: object, allowed: tuple[RunStatus, ...]) -> None:
    """IllegalTransition unless the run is in one of the `allowed` states."""
    if state.status not in allowed:
        name = type(command).__name__
        if state.status.terminal:
            hint = "it has ended and will not run again; fork it: weboter fork RUN --at SEQ"
        elif state.status in (RunStatus.RUNNING, RunStatus.STEPPING):
            hint = "it is being driven; `weboter pause RUN` stops it at its next node"
        else:
            hint = "`weboter state RUN` shows where it is"
        raise IllegalTransition(
            f"{name} is not allowed: run {state.run_id} is {state.status} "
            f"(allowed in {', '.join(allowed)})",
            hint=hint,
        )


def live_events(
    state: RunState, command: LiveCommand, history: Callable[[str, int], RunState] | None
) -> list[Event]:
    """The events of one breakpoint or live-change command (`history` reads past states)."""
    if isinstance(command, SetBreakpoint | ClearBreakpoint):
        return _breakpoint(state, command)
    if isinstance(command, SetVariable):
        require(state, command, SETTABLE)
        return [VariableSet(name=command.name, value=command.value, scope=command.scope)]
    if isinstance(command, OpenSession):
        require(state, command, (RunStatus.LOADED,))
        return [SessionOpened(name=command.name)]
    require(state, command, RESTING)
    if isinstance(command, EndSession):
        if not state.session:
            raise IllegalTransition(f"run {state.run_id} is not a session")
        return [SessionEnded()]
    index = index_for(state.workflow)
    here = state.frame.flow_path
    if isinstance(command, PatchNode):
        path = command.flow_path or here
        node = index.node(path, command.node_id)
        if node is None:
            raise IllegalTransition(f"flow {'/'.join(path)} has no node {command.node_id!r}")
        changes = command.changes if command.replace else merged(node, command.changes)
        return [NodePatched(flow_path=list(path), node_id=command.node_id, changes=changes)]
    if isinstance(command, AddNode):
        path = command.flow_path or here
        if index.node(path, command.node.id) is not None:
            raise IllegalTransition(
                f"flow {'/'.join(path)} already has a node {command.node.id!r}",
                hint="patch it instead",
            )
        return [NodeAdded(flow_path=list(path), node=command.node)]
    if isinstance(command, JumpTo):
        if index.node(here, command.node_id) is None and command.node_id not in (END, EXIT):
            raise IllegalTransition(
                f"flow {'/'.join(here)} has no node {command.node_id!r} to jump to"
            )
        return [JumpedTo(node_id=command.node_id)]
    if history is None:
        raise IllegalTransition("rewinding needs the log")
    if not 0 < command.to_seq <= state.seq:
        raise IllegalTransition(
            f"seq {command.to_seq} is not in run {state.run_id}'s past (it is at seq {state.seq})"
        )
    try:
        past = history(state.run_id, command.to_seq)
    except RunNotFound as exc:  # a fork's past starts at its own first event
        raise IllegalTransition(
            f"seq {command.to_seq} is before run {state.run_id} began",
            hint="`weboter history RUN` lists its seqs; fork the parent to go further back",
        ) from exc
    return [
        RunRewound(to_seq=command.to_seq, state=past, undone=undone(state.workflow, past.workflow))
    ]


def _breakpoint(state: RunState, command: SetBreakpoint | ClearBreakpoint) -> list[Event]:
    if state.status.terminal:
        raise IllegalTransition(
            f"run {state.run_id} is {state.status}; it will not run again (fork it instead)"
        )
    if isinstance(command, ClearBreakpoint):
        if command.id not in {b.id for b in state.breakpoints}:
            raise IllegalTransition(f"run {state.run_id} has no breakpoint {command.id!r}")
        return [BreakpointCleared(id=command.id)]
    node_id = command.breakpoint.node_id
    if command.breakpoint.condition is not None:
        try:
            check_syntax(command.breakpoint.condition)
        except ExpressionError as exc:
            raise IllegalTransition(exc.message, hint=exc.hint) from exc
    nodes = index_for(state.workflow).nodes.values()
    if node_id is not None and not any(node_id in flow for flow in nodes):
        raise IllegalTransition(f"the workflow has no node {node_id!r} to break at")
    return [BreakpointSet(breakpoint=command.breakpoint)]
