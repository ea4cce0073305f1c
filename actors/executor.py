"""The executors: they drive runs by sending the next node to a Node Runner.

Both keep, per run they drive, the state folded from the events the State Manager sends
back (never read back from the database). After each commit they look at the state:
RUNNING/STEPPING -> execute the current node; ERROR -> fail the run (the debugger will offer
other decisions); PAUSED or terminal -> tell whoever asked that the run came to rest.

`ContinuousExecutor` runs until the run rests (DESIGN: Run/Pause). `StepExecutor` runs exactly
one node per `Step` command, then the run is PAUSED.
"""

from __future__ import annotations

import logging
import uuid

import msgspec

from weboter.runtime.core.flows import index_for
from weboter.runtime.core.fold import apply
from weboter.runtime.core.hooks import HookRegistry, PreNode
from weboter.runtime.store.eventlog import to_record
from weboter.runtime.transport.actor import MessageActor
from weboter.runtime.transport.bridge import BUS, Bridge
from weboter.schemas.context import ErrorContext
from weboter.schemas.messages import (
    CancelNode,
    CommandRejected,
    Committed,
    Drive,
    ExecuteNode,
    FailRun,
    Hook,
    HookInterest,
    Message,
    Mode,
    OverrideInputs,
    Pause,
    PauseRun,
    ReleaseRun,
    RunEnded,
    StartRun,
    Step,
    Stop,
    StopRun,
    VetoNode,
)
from weboter.schemas.state import RunState, RunStatus
from weboter.schemas.workflow import Node

log = logging.getLogger(__name__)

RUNNER = "node_runner"
REJECTED = "REJECTED"  # RunEnded.status when the run could not be driven at all
STATE_MANAGER = "state_manager"


def new_command_id() -> str:
    return uuid.uuid4().hex


class Executor(MessageActor):
    mode: Mode = "continuous"

    def __init__(
        self, bridge: Bridge, runner: str = RUNNER, hooks: HookRegistry | None = None
    ) -> None:
        super().__init__(bridge)
        self.runner = runner
        self.hooks = hooks or HookRegistry()
        self.states: dict[str, RunState] = {}
        self.watchers: dict[str, str] = {}
        self.pause_requested: set[str] = set()
        self._asked: dict[str, tuple[int, str]] = {}  # run -> (node count, node) hooks saw
        self.publish_hooks = False  # the bus says when anybody subscribes to hooks

    def _hooked(self, state: RunState, node: Node) -> bool:
        """Publish pre_node_execute; let handlers veto the node or change its inputs (once per
        arrival at a node). True when that produced a command to wait for."""
        run_id = state.run_id
        arrival = (state.nodes_completed, node.id)
        if self._asked.get(run_id) == arrival:
            return False
        self._asked[run_id] = arrival
        if self.publish_hooks:  # only while somebody subscribes to hooks (the bus tells us)
            self._publish_pre(state, node)
        if not self.hooks.handlers:
            return False
        return self._decide(state, node)

    def _publish_pre(self, state: RunState, node: Node) -> None:
        run_id = state.run_id
        self.send(
            BUS,
            Hook(
                name="pre_node_execute",
                run_id=run_id,
                payload={
                    "node_id": node.id,
                    "flow_path": state.frame.flow_path,
                    "action": node.action,
                    "control": node.control,
                    "inputs": node.inputs,
                    "version": state.version,
                },
            ),
        )

    def _decide(self, state: RunState, node: Node) -> bool:
        run_id = state.run_id
        variables = {"global": state.globals, "flow": state.frame.vars}
        decision = self.hooks.decide(
            PreNode(
                run_id=run_id,
                node_id=node.id,
                flow_path=state.frame.flow_path,
                action=node.action,
                inputs=dict(node.inputs),
                variables=variables,
            )
        )
        if decision is None:
            return False
        common = {
            "command_id": new_command_id(),
            "run_id": run_id,
            "reply_to": self.address,
            "node_id": node.id,
        }
        command: VetoNode | OverrideInputs = (
            VetoNode(**common, reason=decision.veto)
            if decision.veto is not None
            else OverrideInputs(**common, inputs=decision.inputs or {})
        )
        self.send(STATE_MANAGER, command)
        return True

    def handle(self, message: Message) -> None:
        if isinstance(message, Committed):
            self._on_committed(message)
        elif isinstance(message, CommandRejected):
            self._on_rejected(message)
        else:
            self.on_request(message)

    def on_request(self, message: Message) -> None:
        if isinstance(message, HookInterest):
            self.publish_hooks = message.active
        elif isinstance(message, Pause):
            if message.run_id in self.states:
                self.pause_requested.add(message.run_id)  # at the next node boundary
            else:
                self._refuse(
                    message.command_id,
                    message.run_id,
                    message.reply_to,
                    "is not running here; only a running run can be paused",
                )
        elif isinstance(message, Stop):
            self.watchers.setdefault(message.run_id, message.reply_to)
            self.send(self.runner, CancelNode(run_id=message.run_id))
            self.send(
                STATE_MANAGER,
                StopRun(
                    command_id=message.command_id,
                    run_id=message.run_id,
                    reply_to=self.address,
                    reason=message.reason,
                ),
            )
        else:
            log.warning("%s: ignored %s", self.address, type(message).__name__)

    def _refuse(self, command_id: str, run_id: str, reply_to: str, why: str) -> None:
        error = ErrorContext(kind="IllegalTransition", message=f"run {run_id} {why}")
        self.send(reply_to, CommandRejected(command_id=command_id, error=error, run_id=run_id))

    def start_run(self, run_id: str, reply_to: str, *, resume: bool, over: bool = False) -> None:
        self.watchers[run_id] = reply_to
        self.send(
            STATE_MANAGER,
            StartRun(
                command_id=new_command_id(),
                run_id=run_id,
                reply_to=self.address,
                mode=self.mode,
                resume=resume,
                over=over,
            ),
        )

    def _on_committed(self, message: Committed) -> None:
        run_id = message.run_id
        if message.state is not None:
            state: RunState | None = message.state
        else:
            state = self.states.get(run_id)
            if state is None:
                return  # not a run this executor drives (any more)
            for stored in message.events:
                record = to_record(stored)
                state = apply(
                    state,
                    record.event,
                    seq=record.seq,
                    version=record.run_version,
                    at=record.recorded_at,
                )
        assert state is not None
        self.states[run_id] = state
        self._advance(state)

    def _advance(self, state: RunState) -> None:
        run_id = state.run_id
        if state.status == RunStatus.RUNNING and run_id in self.pause_requested:
            self.pause_requested.discard(run_id)
            self.send(
                STATE_MANAGER,
                PauseRun(command_id=new_command_id(), run_id=run_id, reply_to=self.address),
            )
        elif state.status in (RunStatus.RUNNING, RunStatus.STEPPING):
            frame = state.frame
            node = index_for(state.workflow).node(frame.flow_path, frame.cursor or "")
            if node is None:  # decide() turns unknown nodes into NodeFailed; be defensive
                self._fail(
                    state,
                    ErrorContext(kind="UnknownNode", message=f"no node {frame.cursor!r} to run"),
                )
                return
            if self._hooked(state, node):
                return  # a handler vetoed it or changed its inputs: wait for that commit
            if state.next_inputs is not None:
                node = msgspec.structs.replace(node, inputs=state.next_inputs)
            self.send(
                self.runner,
                ExecuteNode(
                    command_id=new_command_id(),
                    run_id=run_id,
                    version=state.version,
                    node=node,
                    flow_path=frame.flow_path,
                    reply_to=self.address,
                    flow_vars=frame.vars,
                    globals=state.globals,
                    prev_outputs=state.prev_outputs,
                    loop_count=frame.loops.get(node.id, 0),
                    browser=state.browser,
                ),
            )
        elif state.status == RunStatus.ERROR:
            assert state.error is not None
            if any(b.when == "error" for b in state.breakpoints):
                self._rest(run_id, str(state.status), state.error)  # wait for a decision
            else:
                self._fail(state, state.error)
        else:
            if state.status.terminal:
                self.send(self.runner, ReleaseRun(run_id=run_id))
            self._rest(run_id, str(state.status), state.error)

    def _fail(self, state: RunState, error: ErrorContext) -> None:
        self.send(
            STATE_MANAGER,
            FailRun(
                command_id=new_command_id(), run_id=state.run_id, reply_to=self.address, error=error
            ),
        )

    def _rest(self, run_id: str, status: str, error: ErrorContext | None) -> None:
        self.states.pop(run_id, None)
        self._asked.pop(run_id, None)
        self.pause_requested.discard(run_id)
        watcher = self.watchers.pop(run_id, None)
        if watcher:
            self.send(watcher, RunEnded(run_id=run_id, status=status, error=error))

    def _on_rejected(self, message: CommandRejected) -> None:
        log.warning(
            "%s: command for run %s rejected: %s",
            self.address,
            message.run_id,
            message.error.message,
        )
        state = self.states.get(message.run_id)
        status = str(state.status) if state else REJECTED
        self._rest(message.run_id, status, message.error)


class ContinuousExecutor(Executor):
    address = "continuous_executor"
    mode: Mode = "continuous"

    def on_request(self, message: Message) -> None:
        if isinstance(message, Drive):
            self.start_run(message.run_id, message.reply_to, resume=message.resume)
        else:
            super().on_request(message)


class StepExecutor(Executor):
    address = "step_executor"
    mode: Mode = "step"

    def on_request(self, message: Message) -> None:
        if isinstance(message, Step):
            self.start_run(message.run_id, message.reply_to, resume=False, over=message.over)
        else:
            super().on_request(message)
