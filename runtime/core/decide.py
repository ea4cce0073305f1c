"""Command handlers: (state, command) -> events. Pure apart from reading `$env`.

Only the State Manager calls these, and only it appends what they return. After a node
completes, `settle` walks the engine's own steps in the same command: entering a SubFlow,
returning from one, ending the run at `__end__`/`__exit__`, pausing after a step.
"""

from __future__ import annotations

import traceback
import typing
from collections.abc import Callable
from dataclasses import dataclass, field

from weboter.runtime.core.catalog import Catalog
from weboter.runtime.core.expressions import evaluate
from weboter.runtime.core.flows import index_for
from weboter.runtime.core.fold import apply
from weboter.runtime.core.live import LIVE_COMMANDS, live_events, require
from weboter.runtime.core.node import Writes, map_outputs, pick, picker_target, route
from weboter.runtime.core.references import EnvSource, Resolver
from weboter.runtime.errors import ExpressionError, IllegalTransition, WeboterError
from weboter.schemas.context import ErrorContext
from weboter.schemas.events import (
    Event,
    NodeAttemptFailed,
    NodeCompleted,
    NodeFailed,
    NodeInputsOverridden,
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
from weboter.schemas.messages import (
    AddNode,
    ClearBreakpoint,
    CreateRun,
    FailRun,
    JumpTo,
    OverrideInputs,
    PatchNode,
    PauseRun,
    RecordNodeResult,
    Rewind,
    SetBreakpoint,
    SetVariable,
    StartRun,
    StopRun,
    VetoNode,
)
from weboter.schemas.state import RunState, RunStatus
from weboter.schemas.workflow import END, EXIT

Command = (
    CreateRun
    | StartRun
    | RecordNodeResult
    | FailRun
    | StopRun
    | PauseRun
    | SetBreakpoint
    | ClearBreakpoint
    | SetVariable
    | PatchNode
    | AddNode
    | JumpTo
    | Rewind
    | VetoNode
    | OverrideInputs
)
COMMANDS = typing.get_args(Command)

MAX_SETTLE = 1000  # engine steps after one node; more means SubFlows call each other forever


@dataclass
class Decision:
    events: list[Event]
    secrets: dict[str, str] = field(default_factory=dict)


@dataclass
class Decider:
    catalog: Catalog
    env: EnvSource
    # The state of a run right after a seq, read from the log (for Rewind); None: no rewind.
    history: Callable[[str, int], RunState] | None = None

    def decide(self, state: RunState | None, command: Command) -> Decision:
        """The events `command` produces; IllegalTransition if it is not allowed now."""
        if isinstance(command, CreateRun):
            if state is not None:
                raise IllegalTransition(f"run {command.run_id} already exists")
            created = RunCreated(
                run_id=command.run_id,
                workflow=command.workflow,
                variables=command.variables,
                source=command.source,
                parent_run=command.parent_run,
                parent_seq=command.parent_seq,
                initial_state=command.initial_state,
            )
            return Decision([created])
        if state is None:
            raise IllegalTransition(f"run {command.run_id} does not exist")
        if isinstance(command, StartRun):
            return self._start(state, command)
        if isinstance(command, RecordNodeResult):
            return self._record(state, command)
        if isinstance(command, FailRun):
            require(
                state,
                command,
                (
                    RunStatus.ERROR,
                    RunStatus.RUNNING,
                    RunStatus.STEPPING,
                    RunStatus.PAUSED,
                    RunStatus.LOADED,
                ),
            )
            return Decision([RunFailed(error=command.error)])
        if isinstance(command, StopRun):
            if state.status.terminal:
                raise IllegalTransition(
                    f"run {state.run_id} is already {state.status}; there is nothing to stop"
                )
            return Decision([RunStopped(reason=command.reason)])
        if isinstance(command, PauseRun):
            require(state, command, (RunStatus.RUNNING,))
            return Decision([RunPaused(reason=command.reason)])
        if isinstance(command, VetoNode | OverrideInputs):
            require(state, command, (RunStatus.RUNNING, RunStatus.STEPPING))
            if command.node_id != state.current_node:
                raise IllegalTransition(
                    f"node {command.node_id!r} is not the current node "
                    f"({state.current_node!r}) of run {state.run_id}"
                )
            if isinstance(command, OverrideInputs):
                return Decision(
                    [NodeInputsOverridden(node_id=command.node_id, inputs=command.inputs)]
                )
            error = ErrorContext(
                kind="Vetoed",
                message=f"node {command.node_id!r} was vetoed "
                f"by a pre_node_execute hook: {command.reason}",
                node_id=command.node_id,
                flow_path=state.frame.flow_path,
            )
            return Decision([NodeFailed(node_id=command.node_id, error=error)])
        if isinstance(command, LIVE_COMMANDS):
            return Decision(live_events(state, command, self.history))
        raise IllegalTransition(f"no handler for {type(command).__name__}")

    def _start(self, state: RunState, command: StartRun) -> Decision:
        if command.resume:
            require(
                state,
                command,
                (RunStatus.LOADED, RunStatus.RUNNING, RunStatus.STEPPING, RunStatus.PAUSED),
            )
            first: Event = RunResumed(mode=command.mode)
        else:
            # from ERROR: the failed node runs again (after any live changes)
            require(state, command, (RunStatus.LOADED, RunStatus.PAUSED, RunStatus.ERROR))
            depth = len(state.frames) if command.over and command.mode == "step" else None
            first = RunStarted(mode=command.mode, over_depth=depth)
        decision = Decision([first])
        self._settle(state, decision)
        return decision

    def _record(self, state: RunState, command: RecordNodeResult) -> Decision:
        require(state, command, (RunStatus.RUNNING, RunStatus.STEPPING))
        if command.version != state.version or command.node_id != state.current_node:
            raise IllegalTransition(
                f"stale result for node {command.node_id!r} of run {state.run_id} (planned at "
                f"version {command.version}, run is at {state.version} on {state.current_node!r})"
            )
        events: list[Event] = [
            NodeAttemptFailed(node_id=command.node_id, error=e) for e in command.failed_attempts
        ]
        if command.error is not None:
            events.append(NodeFailed(node_id=command.node_id, error=command.error))
            return Decision(events, dict(command.secrets))
        events.append(
            NodeCompleted(
                node_id=command.node_id,
                flow_path=command.flow_path,
                next_node=command.next_node,
                outputs=command.outputs,
                flow_vars=command.flow_vars,
                global_vars=command.global_vars,
                loop_count=command.loop_count,
                attempts=command.attempts,
                duration_ms=command.duration_ms,
                inputs=command.inputs,
                evidence=command.evidence,
                elements=command.elements,
                browser=command.browser,
            )
        )
        decision = Decision(events, dict(command.secrets))
        self._settle(state, decision)
        return decision

    def _settle(self, state: RunState, decision: Decision) -> None:
        """Append the engine's own steps until a node for a runner is next (or the run rests).

        When stepping, one step is one node run, or one sub-flow entered ("step into"): after
        either, returns from finished sub-flows still happen, then the run pauses.
        """
        current = state
        for event in decision.events:
            current = apply(current, event, seq=current.seq, version=current.version, at=0.0)
        stepping = current.status == RunStatus.STEPPING
        over = current.step_depth  # stepping over: only a step back at this depth counts
        stepped = any(isinstance(e, NodeCompleted) for e in decision.events) and (
            over is None or len(current.frames) <= over
        )
        # a node was just reached: by completing one, or by starting a run that never ran
        arrived = stepped or state.status == RunStatus.LOADED
        completed = next(
            (
                e.node_id
                for e in reversed(decision.events)
                if isinstance(e, NodeCompleted | SubFlowReturned)
            ),
            None,
        )
        for _ in range(MAX_SETTLE):
            if current.status.terminal or current.status == RunStatus.ERROR:
                return
            if current.status == RunStatus.RUNNING:
                hit = self._breakpoint(current, completed, arrived)
                if hit is not None:
                    decision.events.append(RunPaused(reason="breakpoint", breakpoint=hit))
                    return
                completed = None  # an "after" breakpoint is checked once, right after its node
            step = self._engine_step(current, decision.secrets)
            if step is None or (stepping and stepped and isinstance(step, SubFlowEntered)):
                break
            decision.events.append(step)
            current = apply(current, step, seq=current.seq, version=current.version, at=0.0)
            if over is None:
                stepped = stepped or isinstance(step, SubFlowEntered)
            elif isinstance(step, SubFlowReturned) and len(current.frames) <= over:
                stepped = True
        else:
            error = ErrorContext(
                kind="RecursionError",
                message="SubFlows call each other forever",
                node_id=current.current_node,
            )
            decision.events.append(NodeFailed(node_id=current.current_node or "", error=error))
            return
        if stepping and stepped and current.status == RunStatus.STEPPING:
            decision.events.append(RunPaused(reason="step"))

    def _breakpoint(self, state: RunState, completed: str | None, arrived: bool) -> str | None:
        """The id of the breakpoint that stops the run here, if any."""
        cursor = state.current_node
        for bp in state.breakpoints:
            if bp.when == "after" and completed is not None and bp.node_id == completed:
                return bp.id
            if bp.when == "before" and arrived and bp.node_id == cursor:
                return bp.id
            if bp.when == "condition" and bp.condition and (completed is not None or arrived):
                names = {**state.globals, **state.frame.vars}
                try:
                    if evaluate(bp.condition, names):
                        return bp.id
                except ExpressionError:
                    continue  # a condition over variables that do not exist yet: not hit
        return None

    def _engine_step(self, state: RunState, secrets: dict[str, str]) -> Event | None:
        frame = state.frame
        cursor = frame.cursor
        if cursor == EXIT:
            return RunCompleted(end=EXIT)
        if cursor == END or cursor is None:
            if len(state.frames) == 1:
                return RunCompleted(end=END)
            return self._return(state, secrets)
        index = index_for(state.workflow)
        node = index.node(frame.flow_path, cursor)
        if node is None:
            where = "/".join(frame.flow_path)
            return NodeFailed(
                node_id=cursor,
                error=ErrorContext(
                    kind="UnknownNode",
                    message=f"flow {where} has no node {cursor!r}",
                    node_id=cursor,
                    flow_path=frame.flow_path,
                    hint="fix the control's params that name it",
                ),
            )
        spec = self.catalog.find_action(node.action)
        if spec is None or not spec.engine:
            return None
        try:
            return self._enter(state, node.id, node.inputs, secrets)
        except WeboterError as exc:
            return NodeFailed(node_id=node.id, error=error_context(exc, node.id, frame.flow_path))

    def _enter(self, state: RunState, node_id: str, inputs: dict, secrets: dict[str, str]) -> Event:
        frame = state.frame
        index = index_for(state.workflow)
        flow_id = str(inputs.get("flow_id"))
        path = index.callable_from(frame.flow_path, flow_id)
        if path is None:
            raise IllegalTransition(
                f"node {node_id!r}: no sub-flow {flow_id!r} is visible from flow "
                f"{'/'.join(frame.flow_path)}",
                hint="a flow can call its own sub_flows and its ancestors' sub_flows",
            )
        resolver = Resolver(
            self.env, globals_=state.globals, flow=frame.vars, prev=state.prev_outputs
        )
        variables: dict = {}
        global_vars: dict = {}
        for dst, value in pick(inputs.get("data_in") or [], resolver, f"node {node_id!r} data_in"):
            scope, name = picker_target(dst)
            (global_vars if scope == "global" else variables)[name] = value
        secrets.update(resolver.secrets)
        start = index.flow(path).start
        return SubFlowEntered(
            node_id=node_id,
            flow_path=list(path),
            start_node=start or END,
            variables=variables,
            global_vars=global_vars,
        )

    def _return(self, state: RunState, secrets: dict[str, str]) -> Event:
        sub, caller_frame = state.frames[-1], state.frames[-2]
        index = index_for(state.workflow)
        node_id = sub.caller or ""
        node = index.node(caller_frame.flow_path, node_id)
        try:
            if node is None:
                raise IllegalTransition(
                    f"the caller {node_id!r} of sub-flow {sub.flow_path[-1]} is gone"
                )
            inner = Resolver(
                self.env, globals_=state.globals, flow=sub.vars, prev=state.prev_outputs
            )
            outputs = dict(
                pick(node.inputs.get("data_out") or [], inner, f"node {node_id!r} data_out")
            )
            secrets.update(inner.secrets)
            writes = map_outputs(node, outputs, Writes())
            decision = route(
                node,
                self.catalog,
                self.env,
                globals_={**state.globals, **writes.globals},
                flow={**caller_frame.vars, **writes.flow},
                prev=state.prev_outputs,
                outputs=outputs,
                loop_count=caller_frame.loops.get(node_id, 0),
                secrets=secrets,
            )
        except WeboterError as exc:
            return NodeFailed(
                node_id=node_id, error=error_context(exc, node_id, caller_frame.flow_path)
            )
        return SubFlowReturned(
            node_id=node_id,
            flow_path=caller_frame.flow_path,
            next_node=decision.next_node,
            outputs=outputs,
            flow_vars={**writes.flow, **decision.flow_writes},
            global_vars=writes.globals,
            loop_count=decision.loop_count,
        )


def error_context(
    exc: BaseException, node_id: str | None, flow_path: list[str], attempt: int = 1
) -> ErrorContext:
    hint = exc.hint if isinstance(exc, WeboterError) else ""
    message = exc.message if isinstance(exc, WeboterError) else f"{type(exc).__name__}: {exc}"
    stack = (
        "" if isinstance(exc, WeboterError) else "".join(traceback.format_exception(exc))[-4000:]
    )
    return ErrorContext(
        kind=type(exc).__name__.rstrip("_"),
        message=message,
        node_id=node_id,
        flow_path=list(flow_path),
        attempt=attempt,
        stack=stack,
        hint=hint,
    )
