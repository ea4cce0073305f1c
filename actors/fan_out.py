"""The fan-out actor: carries out FanOut nodes, each item as a run of its own.

An executor hands it a FanOut node (runtime/core/items.py says what the node means) instead
of a Node Runner. It makes an item run per item through the State Manager (`CreateRun`, the
run's first state given whole, as a fork's is) and has the Continuous Executor drive it
(`Drive`, this actor hearing its end), at most `at_once` at a time. When every item has
completed — or one did not, and those in flight have ended — it reports the node's result as a
Node Runner would (`RecordNodeResult`): outputs `results` (each item's `data_out`, in order)
and `runs` (the item runs' ids), or an error naming the items that did not complete.

What it keeps in memory is only what is in flight: the log says which item runs exist and
where they are, so a fan-out run again (a crash resume, a retry from ERROR) picks up where the
last one was.
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
    item_result,
    item_run_id,
    item_state,
    plan_items,
)
from weboter.runtime.core.node import resolve_inputs
from weboter.runtime.core.references import EnvSource, Resolver
from weboter.runtime.core.results import result_of
from weboter.runtime.errors import ActionError
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


@dataclass
class Batch:
    """One FanOut node in flight: its items, which run where, and what came back."""

    task: ExecuteNode
    plan: Plan
    parent: RunState
    client: str
    inputs: dict[str, Any]
    secrets: dict[str, str]
    started: float = field(default_factory=time.perf_counter)
    waiting: collections.deque[tuple[int, int, str]] = field(default_factory=collections.deque)
    running: dict[str, int] = field(default_factory=dict)  # item run -> its index
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

    def handle(self, message: Message) -> None:
        if isinstance(message, ExecuteNode):
            self._execute(message)
        elif isinstance(message, Committed):
            self._created(message.command_id)
        elif isinstance(message, CommandRejected):
            self._rejected(message)
        elif isinstance(message, RunEnded):
            self._ended(message)
        elif isinstance(message, CancelNode):
            self._cancel(message.run_id)
        else:
            log.warning("fan-out: ignored %s", type(message).__name__)

    # --- a FanOut node arrives ----------------------------------------------------------------

    def _execute(self, task: ExecuteNode) -> None:
        found = self.batches.get(task.run_id)
        if found is not None and _same_node(found.task, task):
            found.task = task  # the same node again (a resume while it ran): answer for it
            return
        try:
            batch = self._batch(task)
        except Exception as exc:  # bad inputs: the node fails, saying what to fix
            self._report_error(task, error_context(exc, task.node.id, task.flow_path), {})
            return
        self.batches[task.run_id] = batch
        self._fill(batch)
        self._maybe_done(batch)

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
        with Reader(self.db_path) as reader:
            parent = reader.state(task.run_id)
            plan = plan_items(parent.workflow, task.flow_path, task.node, inputs, resolver)
            if resolver.secrets:
                raise ActionError(
                    f"node {task.node.id!r}: FanOut does not pass `$env` values to its item "
                    "runs (they would be written to the log in their first state)",
                    hint="read $env{...} inside the sub-flow: item runs see the same $env",
                )
            batch = Batch(task, plan, parent, _client(reader, task.run_id), inputs, {})
            for index in range(len(plan.items)):
                self._find(reader, batch, index)
        return batch

    def _find(self, reader: Reader, batch: Batch, index: int) -> None:
        """Where item `index` stands in the log: completed (its result taken), in progress
        (driven on), or not made yet (waiting). A failed or stopped try is tried anew."""
        task = batch.task
        attempt = 0
        while True:
            run_id = item_run_id(task.run_id, task.flow_path, task.node.id, index, attempt)
            if not reader.last_seq(run_id):
                batch.waiting.append((index, attempt, ""))
                return
            state = reader.state(run_id)
            batch.runs[index] = run_id
            if state.status == RunStatus.COMPLETED:
                batch.results[index] = self._result(batch, state, index)
                return
            if not state.status.terminal:  # made before: driven on from where it is
                how = "continue" if state.status == RunStatus.ERROR else "resume"
                batch.waiting.append((index, attempt, how))
                return
            attempt += 1

    def _result(self, batch: Batch, done: RunState, index: int) -> Any:
        frame = done.frames[0] if done.frames else None
        resolver = Resolver(
            self.env.for_run(done.run_id),
            globals_=done.globals,
            flow=frame.vars if frame is not None else {},
            prev=done.prev_outputs,
        )
        result = item_result(done, batch.plan.data_out, resolver, index)
        batch.secrets.update(resolver.secrets)
        return result

    # --- item runs -----------------------------------------------------------------------------

    def _fill(self, batch: Batch) -> None:
        """Start waiting items while fewer than `at_once` run (none once one has failed)."""
        while batch.waiting and len(batch.running) < batch.plan.at_once:
            if batch.failed or batch.stopping:
                batch.waiting.clear()
                return
            index, attempt, how = batch.waiting.popleft()
            task = batch.task
            run_id = item_run_id(task.run_id, task.flow_path, task.node.id, index, attempt)
            batch.runs[index] = run_id
            batch.running[run_id] = index
            self.items[run_id] = task.run_id
            if how:
                self._drive(run_id, resume=how == "resume")
            else:
                self._create(batch, index, attempt, run_id)

    def _create(self, batch: Batch, index: int, attempt: int, run_id: str) -> None:
        task, parent = batch.task, batch.parent
        command_id = new_command_id()
        self.creating[command_id] = run_id
        self.env.give(run_id, {}, parent=task.run_id)  # the $env values its parent was sent
        item_of = ItemOf(
            run=task.run_id,
            node=task.node.id,
            index=index,
            flow_path=list(task.flow_path),
            attempt=attempt,
        )
        first = item_state(parent, batch.plan, item_of, run_id)
        self.send(
            STATE_MANAGER,
            CreateRun(
                command_id=command_id,
                run_id=run_id,
                workflow=first.workflow,
                reply_to=self.address,
                source=f"item {index + 1} of node {task.node.id} of run {task.run_id}",
                initial_state=first,
                max_nodes=parent.max_nodes,
                client=batch.client,
                on_error=parent.on_error,
                evidence=parent.evidence,
                item_of=item_of,
            ),
        )

    def _created(self, command_id: str) -> None:
        run_id = self.creating.pop(command_id, None)
        if run_id is not None:
            self._drive(run_id, resume=False)

    def _drive(self, run_id: str, *, resume: bool) -> None:
        self.send(
            CONTINUOUS_EXECUTOR,
            Drive(command_id=new_command_id(), run_id=run_id, reply_to=self.address, resume=resume),
        )

    def _rejected(self, message: CommandRejected) -> None:
        run_id = self.creating.pop(message.command_id, None) or message.run_id
        self._ended(RunEnded(run_id=run_id, status="REJECTED", error=message.error))

    def _ended(self, message: RunEnded) -> None:
        parent = self.items.pop(message.run_id, None)
        batch = self.batches.get(parent or "")
        if batch is None:
            return
        index = batch.running.pop(message.run_id, None)
        if index is None:
            return
        if message.status == RunStatus.COMPLETED:
            try:
                with Reader(self.db_path) as reader:
                    done = reader.state(message.run_id)
                batch.results[index] = self._result(batch, done, index)
            except Exception as exc:  # its data_out could not be read: the item failed
                batch.failed[index] = error_context(exc, batch.task.node.id, batch.task.flow_path)
        else:
            batch.failed[index] = _why(index, message)
        self._fill(batch)
        self._maybe_done(batch)

    def _cancel(self, parent: str) -> None:
        """The parent is stopped: no item starts any more, those in flight are stopped."""
        batch = self.batches.get(parent)
        if batch is None:
            return
        batch.stopping = True
        batch.waiting.clear()
        for run_id in batch.running:
            self.send(
                CONTINUOUS_EXECUTOR,
                Stop(
                    command_id=new_command_id(),
                    run_id=run_id,
                    reply_to=self.address,
                    reason=f"its parent run {parent} was stopped",
                ),
            )
        self._maybe_done(batch)

    # --- the node's result ---------------------------------------------------------------------

    def _maybe_done(self, batch: Batch) -> None:
        if batch.running or (batch.waiting and not batch.failed and not batch.stopping):
            return
        self.batches.pop(batch.task.run_id, None)
        if batch.stopping:
            return  # the parent was stopped: a result would be refused
        outputs = {
            "results": [batch.results.get(i) for i in range(len(batch.plan.items))],
            "runs": [batch.runs.get(i, "") for i in range(len(batch.plan.items))],
        }
        if batch.failed:
            self._report_error(batch.task, _failure(batch), batch.inputs, batch)
            return
        self._report(batch, outputs)

    def _report(self, batch: Batch, outputs: dict[str, Any]) -> None:
        result = result_of(
            batch.task,
            outputs=outputs,
            inputs=batch.inputs,
            duration_ms=(time.perf_counter() - batch.started) * 1000,
            secrets=batch.secrets,
        )
        self.send(STATE_MANAGER, result)

    def _report_error(
        self,
        task: ExecuteNode,
        error: ErrorContext,
        inputs: dict[str, Any],
        batch: Batch | None = None,
    ) -> None:
        started = batch.started if batch is not None else time.perf_counter()
        result = result_of(
            task,
            inputs=inputs,
            error=error,
            duration_ms=(time.perf_counter() - started) * 1000,
            secrets=batch.secrets if batch is not None else {},
        )
        self.send(STATE_MANAGER, result)


def _same_node(before: ExecuteNode, now: ExecuteNode) -> bool:
    return (before.node.id, before.flow_path) == (now.node.id, now.flow_path)


def _client(reader: Reader, run_id: str) -> str:
    """Who asked for the parent run: its item runs are theirs too (who may read them)."""
    first = next(iter(reader.decoded(reader.events(run_id, limit=1))), None)
    if first is not None and isinstance(first.event, RunCreated):
        return first.event.client
    return ""


def _why(index: int, ended: RunEnded) -> ErrorContext:
    said = ended.error.message if ended.error is not None else ""
    return ErrorContext(
        kind="ItemNotCompleted",
        message=f"item {index + 1} (run {ended.run_id}) ended {ended.status}"
        + (f": {said}" if said else ""),
    )


def _failure(batch: Batch) -> ErrorContext:
    task = batch.task
    shown = [batch.failed[i].message for i in sorted(batch.failed)[:3]]
    more = len(batch.failed) - len(shown)
    done = len(batch.results)
    return ErrorContext(
        kind="ItemsFailed",
        message=f"{len(batch.failed)} of {len(batch.plan.items)} items did not complete "
        f"({done} did): " + "; ".join(shown) + (f"; and {more} more" if more else ""),
        node_id=task.node.id,
        flow_path=task.flow_path,
        hint="look at an item's run (`weboter show RUN`), fix it or its node, then run this "
        "node again (`weboter continue` this run): completed items are kept, items waiting in "
        "ERROR go on, failed ones are tried anew",
    )
