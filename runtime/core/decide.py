"""`Decider.decide(state, command) -> Decision`: every state-changing command, decided once.

Pure apart from reading `$env` (through `EnvSource`). The store's `RunStore.execute` is the
only caller that appends what it returns; the CLI also calls it as a dry run, to refuse a
command with the same words before it starts anything. IllegalTransition says why a command
is not allowed in the run's current state, and changes nothing.

Which command is allowed when (the statuses are those of `RunStatus`):

| command                              | allowed in                                     |
|--------------------------------------|------------------------------------------------|
| CreateRun                            | no run yet                                     |
| StartRun (start / continue / step)   | LOADED, PAUSED, ERROR (the failed node again)  |
| StartRun resume=True                 | LOADED, RUNNING, STEPPING, PAUSED, QUEUED      |
| StartRun queued=True (a slot freed)  | QUEUED                                         |
| QueueRun (every run slot taken)      | as StartRun (resume=True: as that one)         |
| RecordNodeResult, RecordAttempt,     | RUNNING, STEPPING (for the current node)       |
|   VetoNode, OverrideInputs,          |                                                |
|   RequeueNode                        |                                                |
| PauseRun                             | RUNNING (pauses at the next node boundary),    |
|                                      |   QUEUED (pauses at once: leaves the queue)    |
| PauseRun now=True (interrupted)      | RUNNING, STEPPING, QUEUED (pauses at once)     |
| SetBreakpoint, ClearBreakpoint       | any but COMPLETED, FAILED, STOPPED             |
| SetVariable                          | LOADED, PAUSED, ERROR, RUNNING, STEPPING       |
| PatchNode, AddNode, JumpTo, Rewind   | LOADED, PAUSED, ERROR                          |
| OpenSession                          | LOADED                                         |
| EndSession                           | LOADED, PAUSED, ERROR                          |
| FailRun                              | any but COMPLETED, FAILED, STOPPED             |
| StopRun                              | any but COMPLETED, FAILED, STOPPED             |
| ApplyRepair (runtime/core/repair.py) | ERROR, PAUSED                                  |
| SuggestRepair, RejectRepair          | any (a record only)                            |
"""

from __future__ import annotations

import typing
from collections.abc import Callable
from dataclasses import dataclass, field

from weboter.runtime.core.advance import Moved, advance
from weboter.runtime.core.catalog import Catalog
from weboter.runtime.core.changes import LIVE_COMMANDS, live_events, require
from weboter.runtime.core.containment import held_back
from weboter.runtime.core.decision import Decision
from weboter.runtime.core.failure import error_context
from weboter.runtime.core.flows import index_for
from weboter.runtime.core.node import Writes
from weboter.runtime.core.recover import recover
from weboter.runtime.core.references import EnvSource
from weboter.runtime.core.repair import healed_events, repair
from weboter.runtime.core.settle import Settler
from weboter.runtime.core.validate import validate
from weboter.runtime.errors import IllegalTransition
from weboter.schemas.context import ErrorContext
from weboter.schemas.events import (
    ENGINE_STOPPED,
    BrowserRestored,
    NodeAttemptFailed,
    NodeCompleted,
    NodeFailed,
    NodeInputsOverridden,
    NodeRequeued,
    PauseRequested,
    RepairRejected,
    RepairSuggested,
    RunCreated,
    RunFailed,
    RunPaused,
    RunQueued,
    RunResumed,
    RunStarted,
    RunStopped,
)
from weboter.schemas.messages import (
    AddNode,
    ApplyRepair,
    ClearBreakpoint,
    CreateRun,
    EndSession,
    FailRun,
    JumpTo,
    OpenSession,
    OverrideInputs,
    PatchNode,
    PauseRun,
    QueueRun,
    RecordAttempt,
    RecordNodeResult,
    RejectRepair,
    RequeueNode,
    Rewind,
    SetBreakpoint,
    SetVariable,
    StartRun,
    StopRun,
    SuggestRepair,
    VetoNode,
)
from weboter.schemas.state import RunState, RunStatus

Command = (
    CreateRun
    | StartRun
    | QueueRun
    | RecordNodeResult
    | RecordAttempt
    | FailRun
    | StopRun
    | PauseRun
    | SetBreakpoint
    | ClearBreakpoint
    | SetVariable
    | PatchNode
    | AddNode
    | OpenSession
    | EndSession
    | JumpTo
    | Rewind
    | VetoNode
    | OverrideInputs
    | ApplyRepair
    | SuggestRepair
    | RejectRepair
    | RequeueNode
)
COMMANDS = typing.get_args(Command)
S = RunStatus
# where a person can drive a run from (the table above; the dev UI's buttons read these)
STARTABLE = (S.LOADED, S.PAUSED, S.ERROR)  # start, continue, step (ERROR: the node again)
PAUSABLE = (S.RUNNING, S.QUEUED)
STOPPABLE = tuple(s for s in S if not s.terminal)


@dataclass
class Decider:
    catalog: Catalog
    env: EnvSource
    # The state of a run right after a seq, read from the log (for Rewind); None: no rewind.
    history: Callable[[str, int], RunState] | None = None
    _settler: Settler = field(init=False)

    def __post_init__(self) -> None:
        self._settler = Settler(self.catalog, self.env)

    def decide(self, state: RunState | None, command: Command) -> Decision:
        """The events `command` produces (folded); IllegalTransition if it is not allowed now."""
        decision = Decision(state)
        if isinstance(command, CreateRun):
            if state is not None:
                raise IllegalTransition(f"run {command.run_id} already exists")
            decision.add(_created(command))
            return decision
        if state is None:
            raise IllegalTransition(
                f"run {command.run_id} does not exist", hint="`weboter runs` lists the runs"
            )
        if isinstance(command, StartRun | QueueRun):
            self._start(state, command, decision)
        elif isinstance(command, RecordNodeResult):
            self._record(state, command, decision)
        elif isinstance(command, RecordAttempt):
            _current(state, command, command.node_id, command.version)
            decision.secrets.update(command.secrets)
            decision.add(NodeAttemptFailed(node_id=command.node_id, error=command.error))
        elif isinstance(command, RequeueNode):
            _current(state, command, command.node_id, command.version)
            decision.add(
                NodeRequeued(node_id=command.node_id, worker=command.worker, reason=command.reason)
            )
        elif isinstance(command, FailRun):
            require(state, command, (S.ERROR, S.RUNNING, S.STEPPING, S.PAUSED, S.LOADED, S.QUEUED))
            decision.add(RunFailed(error=command.error))
        elif isinstance(command, StopRun):
            if state.status.terminal:
                raise IllegalTransition(
                    f"run {state.run_id} is already {state.status}; there is nothing to stop"
                )
            decision.add(RunStopped(reason=command.reason))
        elif isinstance(command, PauseRun) and (command.now or state.status == S.QUEUED):
            require(state, command, (S.RUNNING, S.STEPPING, S.QUEUED))
            decision.add(RunPaused(reason=command.reason))  # a late result will be stale
        elif isinstance(command, PauseRun):
            require(state, command, PAUSABLE)
            decision.add(PauseRequested(reason=command.reason))
        elif isinstance(command, VetoNode | OverrideInputs):
            decision.add(_hooked(state, command))
        elif isinstance(command, ApplyRepair):
            self._repair(decision, state, command)
            if command.action.kind == "patch":
                _still_valid(state, decision.after, self.catalog)
        elif isinstance(command, SuggestRepair | RejectRepair):
            decision.add(_recorded_repair(state, command))
        elif isinstance(command, LIVE_COMMANDS):
            for event in live_events(state, command, self.history):
                decision.add(event)
            if isinstance(command, PatchNode | AddNode):
                _still_valid(state, decision.after, self.catalog)
        else:
            raise IllegalTransition(f"no handler for {type(command).__name__}")
        recover(decision, self._repair)  # a node failed while driven: its on_error policy
        return decision

    def _repair(self, decision: Decision, state: RunState, command: ApplyRepair) -> None:
        repair(decision, state, command, self.catalog, self.env, self._settler.settle)

    def _start(self, state: RunState, command: StartRun | QueueRun, decision: Decision) -> None:
        if isinstance(command, StartRun) and command.queued:  # a slot freed: the queue's turn
            require(state, command, (S.QUEUED,))
        elif command.resume:
            require(state, command, (S.LOADED, S.RUNNING, S.STEPPING, S.PAUSED, S.QUEUED))
            if command.expect_version is not None and state.version != command.expect_version:
                raise IllegalTransition(
                    f"run {state.run_id} was taken up by another process meanwhile (it is "
                    f"{state.status} at version {state.version}, not {command.expect_version})",
                    hint="`weboter state RUN` shows where it is; `weboter runs` who drives it",
                )
        else:  # from ERROR: the failed node runs again (after any live changes)
            require(state, command, STARTABLE)
        if isinstance(command, QueueRun):  # it waits for a run slot; the executor's queue
            decision.add(RunQueued(ahead=command.ahead))
        elif command.resume:
            # a run its engine parked when it stopped is taken up by it again: no crash
            parked = state.status in (S.PAUSED, S.QUEUED) and state.pause_reason == ENGINE_STOPPED
            decision.add(RunResumed(mode=command.mode, reason="restart" if parked else "crash"))
        else:
            depth = len(state.frames) if command.over and command.mode == "step" else None
            decision.add(RunStarted(mode=command.mode, over_depth=depth))
        if not isinstance(command, QueueRun):
            self._settler.settle(decision)

    def _record(self, state: RunState, command: RecordNodeResult, decision: Decision) -> None:
        _current(state, command, command.node_id, command.version)
        for error in command.failed_attempts:
            decision.add(NodeAttemptFailed(node_id=command.node_id, error=error))
        if command.restored is not None:
            report = command.restored
            decision.add(
                BrowserRestored(
                    node_id=command.node_id,
                    mode=report.mode,
                    differences=report.differences,
                    fallback=report.fallback,
                    duration_ms=report.duration_ms,
                )
            )
        decision.secrets.update(command.secrets)
        ran = _action_of(state, command)
        if command.error is not None:
            failed = NodeFailed(
                node_id=command.node_id,
                error=command.error,
                action=ran,
                worker=command.worker,
                inputs=command.inputs,
                duration_ms=command.duration_ms,
            )
            decision.add(failed)
            return
        for event in healed_events(command):
            decision.add(event)
        try:
            moved = self._moved(decision.after, command, decision.secrets)
        except Exception as exc:  # an output it maps is missing, or its control cannot decide
            where = error_context(exc, command.node_id, command.flow_path, command.attempts)
            failed = NodeFailed(
                node_id=command.node_id, error=where, action=ran, worker=command.worker
            )
            decision.add(failed)
            return
        decision.add(
            NodeCompleted(
                node_id=command.node_id,
                flow_path=command.flow_path,
                next_node=moved.next_node,
                outputs=command.outputs,
                flow_vars=moved.flow_vars,
                global_vars=moved.global_vars,
                loop_count=moved.loop_count,
                attempts=command.attempts,
                duration_ms=command.duration_ms,
                inputs=command.inputs,
                evidence=command.evidence,
                elements=command.elements,
                browser=command.browser,
                action=ran,
                worker=command.worker,
            )
        )
        self._settler.settle(decision)

    def _moved(self, state: RunState, command: RecordNodeResult, secrets: dict[str, str]) -> Moved:
        """Where the node's reported outputs take the run (core/advance.py decides)."""
        node = index_for(state.workflow).node(command.flow_path, command.node_id)
        if node is None:
            raise IllegalTransition(f"the workflow has no node {command.node_id!r} any more")
        return advance(
            state,
            state.frame,
            node,
            command.outputs,
            Writes(command.flow_vars, command.global_vars),
            catalog=self.catalog,
            env=self.env.for_run(state.run_id),
            secrets=secrets,
        )


def _action_of(state: RunState, command: RecordNodeResult) -> str:
    """The action the node ran: its action in the run's workflow as it stands now (patched
    nodes included), kept with its result so history shows what ran, not what was first
    written."""
    node = index_for(state.workflow).node(command.flow_path, command.node_id)
    return node.action if node is not None else ""


def _recorded_repair(
    state: RunState, command: SuggestRepair | RejectRepair
) -> RepairSuggested | RepairRejected:
    node_id = command.action.node_id or state.current_node or ""
    if isinstance(command, SuggestRepair):
        confidence = min(max(command.confidence, 0.0), 1.0)
        return RepairSuggested(
            node_id=node_id,
            source=command.source,
            action=command.action,
            confidence=confidence,
            # why a model's suggestion is not applied alone: decided here, whoever sends it
            held=held_back(state, command.action, confidence) if command.source == "model" else "",
        )
    return RepairRejected(
        node_id=node_id, source=command.source, action=command.action, reason=command.reason
    )


def _still_valid(before: RunState, after: RunState, catalog: Catalog) -> None:
    """IllegalTransition naming each new validation error a node change would bring in
    (a patched control that does not exist, a next node nowhere): refused before it runs."""
    known = {(f.path, f.message) for f in validate(before.workflow, catalog)}
    new = [
        f
        for f in validate(after.workflow, catalog)
        if f.severity == "error" and (f.path, f.message) not in known
    ]
    if new:
        raise IllegalTransition(
            "the change would make the workflow invalid: " + "; ".join(str(f) for f in new),
            hint="correct the change (the catalog lists every action and control)",
        )


def _current(state: RunState, command: object, node_id: str, version: int) -> None:
    """IllegalTransition unless a runner's report is about the node the run is on now: the
    run is driven, on that node, and has not left it since the node was planned."""
    require(state, command, (S.RUNNING, S.STEPPING))
    if version > state.version:  # planned on a state the log does not hold (a lost group)
        raise IllegalTransition(
            f"result for node {node_id!r} of run {state.run_id} was planned at version "
            f"{version}, but the log holds the run only up to version {state.version}",
            hint="the commands before it were not recorded; continue the run from the log",
        )
    if node_id != state.current_node or version < state.node_version:
        raise IllegalTransition(
            f"stale result for node {node_id!r} of run {state.run_id} (planned at "
            f"version {version}; the run is on {state.current_node!r} since "
            f"version {state.node_version})"
        )


def _created(command: CreateRun) -> RunCreated:
    return RunCreated(
        run_id=command.run_id,
        workflow=command.workflow,
        variables=command.variables,
        source=command.source,
        parent_run=command.parent_run,
        parent_seq=command.parent_seq,
        initial_state=command.initial_state,
        max_nodes=command.max_nodes,
        client=command.client,
        on_error=command.on_error,
        evidence=command.evidence,
        item_of=command.item_of,
    )


def _hooked(
    state: RunState, command: VetoNode | OverrideInputs
) -> NodeInputsOverridden | NodeFailed:
    require(state, command, (S.RUNNING, S.STEPPING))
    if command.node_id != state.current_node:
        raise IllegalTransition(
            f"node {command.node_id!r} is not the current node "
            f"({state.current_node!r}) of run {state.run_id}"
        )
    if isinstance(command, OverrideInputs):
        return NodeInputsOverridden(node_id=command.node_id, inputs=command.inputs)
    error = ErrorContext(
        kind="Vetoed",
        message=f"node {command.node_id!r} was vetoed by a pre_node_execute hook: {command.reason}",
        node_id=command.node_id,
        flow_path=state.frame.flow_path,
    )
    return NodeFailed(node_id=command.node_id, error=error)
