"""The fan-out actor: carries out FanOut nodes, each item as a run of its own.

An executor hands it a FanOut node (runtime/core/items.py says what the node means) instead
of a Node Runner. It makes an item run per item through the State Manager (`CreateRun`, the
run's first state given whole, as a fork's is) and has the Continuous Executor drive it
(`Drive`, this actor hearing its end), at most `at_once` at a time. When every item has
completed — or one did not, and those in flight have ended — it reports the node's result as a
Node Runner would (`RecordNodeResult`): outputs `results` (each item's `data_out`, in order)
and `runs` (the item runs' ids), or an error naming the items that did not complete.

The log says where items stand (runtime/store/items.py), so a fan-out run again (a crash
resume, an engine restart, a retry from ERROR) picks up where the last one was. An item run
another process drives is never driven here too: it is watched in the log, as the parent is
(stopped, failed or moved on elsewhere: no item starts any more), once a second while items
are in flight.
"""

from __future__ import annotations

import collections
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from weboter.runtime.core.catalog import Catalog
from weboter.runtime.core.failure import error_context
from weboter.runtime.core.ids import new_command_id
from weboter.runtime.core.items import (
    Plan,
    item_failed,
    item_run_id,
    item_source,
    item_state,
    items_failed,
    plan_items,
)
from weboter.runtime.core.items import item_result as picked
from weboter.runtime.core.node import resolve_inputs
from weboter.runtime.core.plan import policy_for
from weboter.runtime.core.references import EnvSource, Resolver
from weboter.runtime.core.results import result_of
from weboter.runtime.errors import ActionError, WorkflowError
from weboter.runtime.store.items import Standing, stand
from weboter.runtime.store.reading import Reader
from weboter.runtime.transport.actor import MessageActor
from weboter.runtime.transport.addresses import CONTINUOUS_EXECUTOR, FAN_OUT, STATE_MANAGER
from weboter.runtime.transport.seam import Transport
from weboter.schemas.context import ErrorContext
from weboter.schemas.events import RunCreated
from weboter.schemas.messages import (
    CancelNode,
    CommandRejected,
    Committed,
    CreateRun,
    Drive,
    ExecuteNode,
    Message,
    RunEnded,
    Stop,
)
from weboter.schemas.state import ItemOf, RunState, RunStatus

log = logging.getLogger(__name__)
SWEEP_SECONDS = 1.0  # how often the log is looked at while items are in flight


@dataclass
class Batch:
    """One FanOut node in flight: its items, which run where, and what came back."""

    task: ExecuteNode
    plan: Plan
    parent: RunState
    client: str
    inputs: dict[str, Any]
    secrets: dict[str, str] = field(default_factory=dict)
    started: float = field(default_factory=time.perf_counter)
    waiting: collections.deque[Standing] = field(default_factory=collections.deque)
    running: dict[str, int] = field(default_factory=dict)  # item run -> its index
    made: set[str] = field(default_factory=set)  # item runs this visit drives, made or not
    watched: set[str] = field(default_factory=set)  # item runs another process drives
    runs: dict[int, str] = field(default_factory=dict)  # index -> its (latest) item run
    results: dict[int, Any] = field(default_factory=dict)
    failed: dict[int, ErrorContext] = field(default_factory=dict)
    stopping: bool = False


class FanOut(MessageActor):
    address = FAN_OUT

    def __init__(self, bridge: Transport, db_path: Path, catalog: Catalog, env: EnvSource) -> None:
        super().__init__(bridge)
        self.db_path = db_path
        self.catalog = catalog
        self.env = env
        self.batches: dict[str, Batch] = {}  # parent run -> its FanOut in flight
        self.items: dict[str, str] = {}  # item run -> its parent run
        self.creating: dict[str, str] = {}  # CreateRun command id -> item run
        self._swept = 0.0
        self._reader: Reader | None = None  # the log, opened once in this actor's thread

    def started(self) -> None:
        self.on_idle(self.idle)

    def stopping(self) -> None:
        if self._reader is not None:
            self._reader.close()

    @property
    def reader(self) -> Reader:
        if self._reader is None:
            self._reader = Reader(self.db_path)
        return self._reader

    def handle(self, message: Message) -> None:
        try:
            self._handle(message)
        except Exception:  # a bug: the batch it was about fails, the actor keeps serving
            log.exception("fan-out: %s failed", type(message).__name__)
            self._fail_batch(getattr(message, "run_id", ""))
        if time.monotonic() - self._swept > SWEEP_SECONDS:
            self.idle()

    def _handle(self, message: Message) -> None:
        if isinstance(message, ExecuteNode):
            self._execute(message)
        elif isinstance(message, Committed):
            self._created(message.command_id)
        elif isinstance(message, CommandRejected):
            self._rejected(message)
        elif isinstance(message, RunEnded):
            self._ended(message)
        elif isinstance(message, CancelNode):
            self._stop_batch(message.run_id, "was stopped")
        else:
            log.warning("fan-out: ignored %s", type(message).__name__)

    # --- a FanOut node arrives -----------------------------------------------------------------

    def _execute(self, task: ExecuteNode) -> None:
        found = self.batches.get(task.run_id)
        if found is not None and _visit(found.task) == _visit(task):
            found.task = task  # the same visit again (a resume while it ran): answer for it
            return
        if found is not None:  # another visit of the run: the old one's items are its own
            self._stop_batch(task.run_id, "moved on")
        try:
            batch = self._batch(task)
        except Exception as exc:  # bad inputs: the node fails, saying what to fix
            self._report(task, {}, error_context(exc, task.node.id, task.flow_path))
            return
        self.batches[task.run_id] = batch
        self._go_on(batch)

    def _batch(self, task: ExecuteNode) -> Batch:
        spec = self.catalog.find_action(task.node.action)
        if spec is None:
            raise ActionError(f"unknown action {task.node.action!r}")
        resolver = Resolver(
            self.env.for_run(task.run_id),
            globals_=task.globals,
            flow=task.flow_vars,
            prev=task.prev_outputs,
        )
        inputs = resolve_inputs(task.node, spec, resolver)
        reader = self.reader
        parent = reader.state(task.run_id)
        plan = items_plan(parent, task, inputs, resolver)
        batch = Batch(task, plan, parent, _client(reader, task.run_id), inputs)
        first = ItemOf(
            run=task.run_id,
            node=task.node.id,
            index=0,
            flow_path=list(task.flow_path),
            arrived=task.arrived,
        )
        for standing in stand(reader, first, len(plan.items)):
            self._place(batch, standing)
        return batch

    def _place(self, batch: Batch, standing: Standing) -> None:
        index = standing.of.index
        batch.runs[index] = item_run_id(standing.of)
        if standing.how == "done" and standing.state is not None:
            try:
                batch.results[index] = self._result(batch, standing.state, index)
            except Exception as exc:  # its data_out cannot be read: the item did not complete
                batch.failed[index] = error_context(exc, batch.task.node.id, batch.task.flow_path)
        elif standing.how == "watch":
            batch.running[batch.runs[index]] = index
            batch.watched.add(batch.runs[index])
            self.items[batch.runs[index]] = batch.task.run_id
        else:
            batch.waiting.append(standing)

    def _result(self, batch: Batch, done: RunState, index: int) -> Any:
        frame = done.frames[0] if done.frames else None
        resolver = Resolver(
            self.env.for_run(done.run_id),
            globals_=done.globals,
            flow=frame.vars if frame is not None else {},
            prev=done.prev_outputs,
        )
        result = picked(done, batch.plan.data_out, resolver, index)
        batch.secrets.update(resolver.secrets)
        return result

    # --- item runs -----------------------------------------------------------------------------

    def _go_on(self, batch: Batch) -> None:
        """Start waiting items while fewer than `at_once` run (none once one has failed or
        the parent stops); report the node once nothing runs or waits."""
        while batch.waiting and len(batch.running) < batch.plan.at_once:
            if batch.failed or batch.stopping:
                batch.waiting.clear()
                break
            standing = batch.waiting.popleft()
            run_id = item_run_id(standing.of)
            batch.running[run_id] = standing.of.index
            batch.made.add(run_id)
            self.items[run_id] = batch.task.run_id
            self.env.give(run_id, {}, parent=batch.task.run_id)  # its parent's client's $env
            if standing.how == "make":
                self._create(batch, standing.of, run_id)
            else:
                version = standing.version if standing.how == "resume" else None
                self._drive(run_id, resume=standing.how == "resume", version=version)
        if batch.running or (batch.waiting and not batch.failed and not batch.stopping):
            return
        self.batches.pop(batch.task.run_id, None)
        if batch.stopping:
            return  # the parent stopped or moved on: a result would be refused
        count = len(batch.plan.items)
        if batch.failed:
            policy = policy_for(batch.task.node, batch.parent)
            failure = items_failed(batch.task, batch.failed, count, len(batch.results), policy)
            self._report(batch.task, batch.inputs, failure, batch)
            return
        outputs = {
            "results": [batch.results.get(i) for i in range(count)],
            "runs": [batch.runs.get(i, "") for i in range(count)],
        }
        self._report(batch.task, batch.inputs, None, batch, outputs)

    def _create(self, batch: Batch, of: ItemOf, run_id: str) -> None:
        parent = batch.parent
        command_id = new_command_id()
        self.creating[command_id] = run_id
        first = item_state(parent, batch.plan, of, run_id)
        self.send(
            STATE_MANAGER,
            CreateRun(
                command_id=command_id,
                run_id=run_id,
                workflow=first.workflow,
                reply_to=self.address,
                source=item_source(of),
                initial_state=first,
                max_nodes=parent.max_nodes,
                client=batch.client,
                on_error=parent.on_error,
                evidence=parent.evidence,
                item_of=of,
            ),
        )

    def _created(self, command_id: str) -> None:
        run_id = self.creating.pop(command_id, None)
        if run_id is not None:
            self._drive(run_id, resume=False)

    def _drive(self, run_id: str, *, resume: bool, version: int | None = None) -> None:
        drive = Drive(
            command_id=new_command_id(),
            run_id=run_id,
            reply_to=self.address,
            resume=resume,
            expect_version=version,
        )
        self.send(CONTINUOUS_EXECUTOR, drive)

    def _rejected(self, message: CommandRejected) -> None:
        made = self.creating.pop(message.command_id, None)
        if made is None:  # a Drive or Stop refused: see _ended
            self._ended(RunEnded(run_id=message.run_id, status="REJECTED", error=message.error))
            return
        batch = self.batches.get(self.items.get(made, ""))
        if batch is not None and made in batch.running:  # the item run could not be made
            self._settle(batch, made, "REJECTED", message.error)

    def _ended(self, message: RunEnded) -> None:
        batch = self.batches.get(self.items.get(message.run_id, ""))
        if batch is None or message.run_id not in batch.running:
            self.items.pop(message.run_id, None)
            return
        if message.status == "REJECTED":  # a Drive refused: somebody else drives it, or it
            batch.watched.add(message.run_id)  # is at an end; the log says which (idle)
            return
        self._settle(batch, message.run_id, message.status, message.error)

    def _settle(self, batch: Batch, run_id: str, status: str, error: ErrorContext | None) -> None:
        """An item run came to rest: its result, or why it did not complete."""
        index = batch.running.pop(run_id)
        batch.watched.discard(run_id)
        self.items.pop(run_id, None)
        if status == RunStatus.COMPLETED:
            try:
                batch.results[index] = self._result(batch, self.reader.state(run_id), index)
            except Exception as exc:  # its data_out could not be read: the item failed
                batch.failed[index] = error_context(exc, batch.task.node.id, batch.task.flow_path)
        else:
            batch.failed[index] = item_failed(index, run_id, status, error)
        self._go_on(batch)

    def _stop_batch(self, parent: str, why: str) -> None:
        """The parent was stopped (or moved on): no item starts any more, those this visit
        drives are stopped."""
        batch = self.batches.get(parent)
        if batch is None:
            return
        batch.stopping = True
        batch.waiting.clear()
        for run_id in list(batch.running):
            if run_id in batch.watched:  # not ours to stop: let go of it
                batch.running.pop(run_id)
                continue
            stop = Stop(
                command_id=new_command_id(),
                run_id=run_id,
                reply_to=self.address,
                reason=f"its parent run {parent} {why}",
            )
            self.send(CONTINUOUS_EXECUTOR, stop)
        self._go_on(batch)

    def _fail_batch(self, parent: str) -> None:
        batch = self.batches.pop(self.items.get(parent, parent), None)
        if batch is not None:
            error = ErrorContext(kind="FanOutError", message="the fan-out failed: see its log")
            self._report(batch.task, batch.inputs, error, batch)

    # --- the log, once a second while items are in flight --------------------------------------

    def idle(self) -> float | None:
        """Look at the parents (stopped or moved on elsewhere?) and at the item runs others
        drive (at rest?); None: nothing to look at until the next FanOut."""
        if not self.batches:
            return None
        self._swept = time.monotonic()
        for batch in list(self.batches.values()):
            self._sweep(self.reader, batch)
        return SWEEP_SECONDS

    def _sweep(self, reader: Reader, batch: Batch) -> None:
        parent = reader.state(batch.task.run_id)
        if parent.status.terminal or parent.node_version != batch.task.arrived:
            self._stop_batch(parent.run_id, f"is {parent.status}")
            return
        for run_id in list(batch.watched):
            item = reader.state(run_id)
            if item.status.terminal or (
                item.status in (RunStatus.ERROR, RunStatus.PAUSED) and not reader.driver(run_id)
            ):
                self._settle(batch, run_id, str(item.status), item.error)

    # --- the node's result ---------------------------------------------------------------------

    def _report(
        self,
        task: ExecuteNode,
        inputs: dict[str, Any],
        error: ErrorContext | None,
        batch: Batch | None = None,
        outputs: dict[str, Any] | None = None,
    ) -> None:
        started = batch.started if batch is not None else time.perf_counter()
        result = result_of(
            task,
            outputs=outputs or {},
            inputs=inputs,
            error=error,
            duration_ms=(time.perf_counter() - started) * 1000,
            secrets=batch.secrets if batch is not None else {},
        )
        self.send(STATE_MANAGER, result)


def items_plan(
    parent: RunState, task: ExecuteNode, inputs: dict[str, Any], resolver: Resolver
) -> Plan:
    """The node's inputs read (runtime/core/items.py); `$env` values are refused."""
    plan = plan_items(parent.workflow, task.flow_path, task.node, inputs, resolver)
    if resolver.secrets:
        raise WorkflowError(
            f"node {task.node.id!r}: FanOut does not pass `$env` values to its item runs "
            "(they would be written to the log in their first state)",
            hint="read $env{...} inside the sub-flow: item runs see the same $env",
        )
    return plan


def _visit(task: ExecuteNode) -> tuple[str, tuple[str, ...], int]:
    return task.node.id, tuple(task.flow_path), task.arrived


def _client(reader: Reader, run_id: str) -> str:
    """Who asked for the parent run: its item runs are theirs too (who may read them)."""
    first = next(iter(reader.decoded(reader.events(run_id, limit=1))), None)
    if first is not None and isinstance(first.event, RunCreated):
        return first.event.client
    return ""
