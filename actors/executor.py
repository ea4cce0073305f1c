"""The executors: they drive runs by handing each planned node to a Node Runner.

An executor neither folds events nor reads the log: every `Committed` reply from the State
Manager says where the run now is and, for a driven run, the node to execute next (`plan`).
RUNNING/STEPPING -> send that node to the runner (after pre_node_execute hooks); ERROR -> ask
the model when the failed node's on_error policy said so (the State Manager's decider decided
it, from events: core/recover.py), else the run waits; PAUSED or terminal -> tell whoever
asked that it rests.

`ContinuousExecutor` runs until the run rests (breakpoint, pause, end, error). `StepExecutor`
runs exactly one node per `Step` command, then the run is PAUSED.
"""

from __future__ import annotations

import logging

import msgspec

from weboter.runtime.core.admission import Admission, RunSlots
from weboter.runtime.core.hooks import HookRegistry, PreNode
from weboter.runtime.core.ids import new_command_id
from weboter.runtime.core.items import fans_out
from weboter.runtime.core.plan import DRIVEN
from weboter.runtime.transport.actor import MessageActor
from weboter.runtime.transport.addresses import (
    AI_GATEWAY,
    BUS,
    CONTINUOUS_EXECUTOR,
    FAN_OUT,
    NODE_RUNNER,
    STATE_MANAGER,
    STEP_EXECUTOR,
)
from weboter.runtime.transport.seam import Transport
from weboter.schemas.context import ErrorContext
from weboter.schemas.messages import (
    REJECTED,
    AskRepair,
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
    QueueRun,
    ReleaseRun,
    RepairDeclined,
    RunEnded,
    StartRun,
    Step,
    Stop,
    StopRun,
    VetoNode,
    YieldSlot,
)
from weboter.schemas.state import RunStatus

log = logging.getLogger(__name__)


class Executor(MessageActor):
    mode: Mode = "continuous"

    def __init__(
        self, bridge: Transport, runner: str = NODE_RUNNER, hooks: HookRegistry | None = None
    ) -> None:
        super().__init__(bridge)
        self.runner = runner
        self.hooks = hooks or HookRegistry()
        self.watchers: dict[str, str] = {}  # run -> who hears when it rests
        self.stoppers: dict[str, str] = {}  # run -> who asked to stop it (hears it too)
        self.statuses: dict[str, str] = {}  # run -> its status as last committed
        self._asked: dict[str, tuple[int, str]] = {}  # run -> (arrival, node) hooks saw
        self.errors: dict[str, ErrorContext] = {}  # run -> its error, while the model is asked
        self.publish_hooks = False  # the bus says when anybody subscribes to hooks

    def handle(self, message: Message) -> None:
        if isinstance(message, Committed):
            self._on_committed(message)
        elif isinstance(message, CommandRejected):
            self._on_rejected(message)
        elif isinstance(message, RepairDeclined):
            self._declined(message)
        else:
            self.on_request(message)

    def on_request(self, message: Message) -> None:
        if isinstance(message, HookInterest):
            self.publish_hooks = message.active
        elif isinstance(message, Stop):
            if self.watchers.setdefault(message.run_id, message.reply_to) != message.reply_to:
                self.stoppers[message.run_id] = message.reply_to
            self.send(self.runner, CancelNode(run_id=message.run_id))
            self.send(FAN_OUT, CancelNode(run_id=message.run_id))  # and its item runs
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

    def start_run(
        self,
        run_id: str,
        reply_to: str,
        *,
        resume: bool,
        over: bool = False,
        expect_version: int | None = None,
        queued: bool = False,
    ) -> None:
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
                expect_version=expect_version,
                queued=queued,
            ),
        )

    def _on_committed(self, message: Committed) -> None:
        run_id = message.run_id
        if run_id not in self.watchers:
            return  # not a run this executor drives (any more)
        if message.duplicate:  # a result recorded before (a node re-run elsewhere): the run
            return  # went on from the first one, whose Committed came here then
        status = self.statuses[run_id] = message.status
        if status in DRIVEN:  # the statuses core.plan plans a node for
            if message.plan is None:  # decide turns unknown nodes into NodeFailed; defensive
                self._fail(run_id, ErrorContext(kind="UnknownNode", message="no node to run"))
            elif not self._hooked(message.plan):
                self.dispatch(message.plan)
        elif status == RunStatus.QUEUED:
            return  # it waits for a run slot (ContinuousExecutor); whoever asked hears later
        elif status == RunStatus.ERROR:
            assert message.error is not None
            self._on_error(run_id, message)
        else:
            if RunStatus(status).terminal:
                self.send(self.runner, ReleaseRun(run_id=run_id))
            self._rest(run_id, status, message.error)

    def dispatch(self, plan: ExecuteNode) -> None:
        """Hand the planned node to the runner (a FanOut to the fan-out actor)."""
        self.send(self.runner_of(plan), plan)

    def runner_of(self, plan: ExecuteNode) -> str:
        return FAN_OUT if fans_out(plan.node) else self.runner

    # --- pre_node_execute hooks ----------------------------------------------------------

    def _hooked(self, task: ExecuteNode) -> bool:
        """Publish pre_node_execute; let handlers veto the node or change its inputs (once per
        arrival at a node). True when that produced a command to wait for."""
        arrival = (task.arrived, task.node.id)
        if self._asked.get(task.run_id) == arrival:
            return False
        self._asked[task.run_id] = arrival
        if self.publish_hooks:  # only while somebody subscribes to hooks (the bus tells us)
            payload = {
                "node_id": task.node.id,
                "flow_path": task.flow_path,
                "action": task.node.action,
                "control": task.node.control,
                "inputs": task.node.inputs,
                "version": task.version,
            }
            self.send(BUS, Hook(name="pre_node_execute", run_id=task.run_id, payload=payload))
        if not self.hooks.handlers:
            return False
        decision = self.hooks.decide(
            PreNode(
                run_id=task.run_id,
                node_id=task.node.id,
                flow_path=task.flow_path,
                action=task.node.action,
                inputs=dict(task.node.inputs),
                variables={"global": task.globals, "flow": task.flow_vars},
            )
        )
        if decision is None:
            return False
        common = {
            "command_id": new_command_id(),
            "run_id": task.run_id,
            "reply_to": self.address,
            "node_id": task.node.id,
        }
        command: VetoNode | OverrideInputs = (
            VetoNode(**common, reason=decision.veto)
            if decision.veto is not None
            else OverrideInputs(**common, inputs=decision.inputs or {})
        )
        self.send(STATE_MANAGER, command)
        return True

    # --- a node failed: its on_error policy has decided (core/recover.py) ----------------

    def _on_error(self, run_id: str, message: Committed) -> None:
        assert message.error is not None
        if message.ask_model:  # the policy asks the model for a repair (RepairRequested)
            self.errors[run_id] = message.error
            self.send(AI_GATEWAY, AskRepair(run_id=run_id, reply_to=self.address, mode=self.mode))
            return
        error = message.error
        if message.waiting_for:
            hint = message.waiting_for
            error = msgspec.structs.replace(
                error, hint=f"{hint}; {error.hint}" if error.hint else hint
            )
        self._rest(run_id, RunStatus.ERROR, error)  # it waits for a person

    def _declined(self, message: RepairDeclined) -> None:
        """The model did not repair the run: it waits in ERROR, its error saying why."""
        error = self.errors.pop(message.run_id, None)
        if error is not None:
            error = msgspec.structs.replace(
                error, hint=f"{message.reason}; {error.hint}" if error.hint else message.reason
            )
        self._rest(message.run_id, RunStatus.ERROR, error)

    # --- coming to rest --------------------------------------------------------------------

    def _fail(self, run_id: str, error: ErrorContext) -> None:
        self.send(
            STATE_MANAGER,
            FailRun(command_id=new_command_id(), run_id=run_id, reply_to=self.address, error=error),
        )

    def _rest(self, run_id: str, status: str, error: ErrorContext | None) -> None:
        self.statuses.pop(run_id, None)
        self._asked.pop(run_id, None)
        self.errors.pop(run_id, None)
        watcher = self.watchers.pop(run_id, None)
        for to in (watcher, self.stoppers.pop(run_id, None)):
            if to:
                self.send(to, RunEnded(run_id=run_id, status=status, error=error))

    def _on_rejected(self, message: CommandRejected) -> None:
        if message.run_id not in self.watchers:  # e.g. a node's late result after a stop
            log.debug("%s: %s (run no longer driven)", self.address, message.error.message)
            return
        log.warning(
            "%s: command for run %s rejected: %s",
            self.address,
            message.run_id,
            message.error.message,
        )
        status = self.statuses.get(message.run_id, REJECTED)
        self._rest(message.run_id, status, message.error)


class ContinuousExecutor(Executor):
    """Drives runs until they rest, at most `admission.limit` at once: a run beyond waits
    QUEUED and starts when one rests (runtime/core/admission.py)."""

    address = CONTINUOUS_EXECUTOR
    mode: Mode = "continuous"

    def __init__(
        self,
        bridge: Transport,
        runner: str = NODE_RUNNER,
        hooks: HookRegistry | None = None,
        admission: Admission | None = None,
    ) -> None:
        super().__init__(bridge, runner, hooks)
        self.slots = RunSlots(self, self.address, admission or Admission())

    def on_request(self, message: Message) -> None:
        if isinstance(message, Drive):
            self.slots.drive(message)
        elif isinstance(message, YieldSlot):
            self.slots.give_up(message)
        else:
            super().on_request(message)

    def dispatch(self, plan: ExecuteNode) -> None:
        if self.slots.may_run(plan):
            self.run_node(plan)

    def run_node(self, plan: ExecuteNode) -> None:
        self.send(self.runner_of(plan), plan)
        if fans_out(plan.node):  # it waits for its item runs, which need slots of their own
            self.slots.give_up(YieldSlot(run_id=plan.run_id, version=plan.version))

    def queue_run(self, command: QueueRun) -> None:
        self.send(STATE_MANAGER, command)

    def tell(self, to: str, message: RunEnded) -> None:
        self.send(to, message)

    def _rest(self, run_id: str, status: str, error: ErrorContext | None) -> None:
        super()._rest(run_id, status, error)
        self.slots.rested(run_id)


class StepExecutor(Executor):
    address = STEP_EXECUTOR
    mode: Mode = "step"

    def on_request(self, message: Message) -> None:
        if isinstance(message, Step):
            self.start_run(
                message.run_id,
                message.reply_to,
                resume=message.resume,
                over=message.over,
                expect_version=message.expect_version,
            )
        else:
            super().on_request(message)
