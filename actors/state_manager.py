"""The State Manager: the engine's writer of the event log. Execute, reply, then announce.

Every state-changing command goes through `RunStore.execute` (runtime/store/runstore.py):
decide, redact, append in one transaction, fold once. The reply (`Committed`) tells the
command's `reply_to` where the run now is, and for a driven run which node comes next (`plan`),
so executors never fold or read the log. Two named collaborators do the rest:

- the outbox (runtime/store/outbox.py) hands committed events to the Context Bus in batches,
  within 2 ms of their commit (20 ms during a stretch of inline nodes); nothing is published
  before it is committed (with durability `batch`, a group's commit comes up to ~20 ms after
  its first command);
- the stretch (runtime/actions/inline.py): when the next node can run inline (a bounded
  synchronous builtin) and no hook wants to see it, it is run here and its result committed at
  once, and so on until a node needs the Node Runner, the run rests, or another message waits
  in the inbox: a loop of data nodes then crosses no thread, and its executor hears only the
  last Committed. Breakpoints, pauses and steps stay exact: each commit decides them.
"""

from __future__ import annotations

import contextlib
import logging
from pathlib import Path

from weboter.runtime.actions.inline import Inline, Stretch
from weboter.runtime.core.catalog import Catalog
from weboter.runtime.core.decide import COMMANDS, Command
from weboter.runtime.core.hooks import HookRegistry
from weboter.runtime.core.plan import DRIVEN, plan
from weboter.runtime.core.references import EnvSource
from weboter.runtime.errors import WeboterError
from weboter.runtime.store.eventlog import Durability, EventLog
from weboter.runtime.store.outbox import Outbox
from weboter.runtime.store.runstore import Outcome, RunStore
from weboter.runtime.store.transactions import GroupLost
from weboter.runtime.transport.actor import MessageActor
from weboter.runtime.transport.addresses import BUS, EXECUTORS, STATE_MANAGER
from weboter.runtime.transport.seam import Transport
from weboter.schemas.context import ErrorContext
from weboter.schemas.messages import (
    CommandRejected,
    Committed,
    ExecuteNode,
    HookInterest,
    Message,
    RecordNodeResult,
)
from weboter.schemas.state import RunStatus

log = logging.getLogger(__name__)


class StateManager(MessageActor):
    address = STATE_MANAGER

    def __init__(
        self,
        bridge: Transport,
        db_path: Path,
        catalog: Catalog,
        env: EnvSource,
        *,
        durability: Durability = "sync",
        snapshot_every: int = 200,
        inline: Inline | None = None,
        hooks: HookRegistry | None = None,
    ) -> None:
        super().__init__(bridge)
        self.db_path = db_path
        self.durability: Durability = durability
        self.snapshot_every = snapshot_every
        self.catalog = catalog
        self.env = env
        # None: every node goes to the Node Runner (workers run them)
        self.stretch = Stretch(inline) if inline is not None else None
        self.hooks = hooks or HookRegistry()  # pre_node_execute handlers see every node
        self.hooks_wanted = False  # somebody subscribes to hooks (the bus says)
        self.store: RunStore | None = None
        self.outbox = Outbox(lambda batch: self.send(BUS, batch), self._group_open)

    def started(self) -> None:
        self.on_idle(self.idle)
        self.store = RunStore(
            EventLog(self.db_path, durability=self.durability),
            self.catalog,
            self.env,
            snapshot_every=self.snapshot_every,
        )

    def _group_open(self) -> bool:
        return self.store is not None and self.store.log.pending

    def stopping(self) -> None:
        with contextlib.suppress(GroupLost):
            self._durable()
        self.outbox.flush()
        if self.store is not None:
            self.store.log.close()

    def handle(self, message: Message) -> None:
        if isinstance(message, COMMANDS):
            self.serve(message)
        elif isinstance(message, HookInterest):
            self.hooks_wanted = message.active
        else:
            log.warning("state manager: ignored %s", type(message).__name__)

    def serve(self, command: Command) -> None:
        """Commit `command`; then, while the next node can run inline here (and nothing else
        waits), run it and commit its result, and so on: the reply goes out for the last."""
        sent = True  # the first command came by message; the rest are results made here
        while True:
            outcome = self._commit(command, sent=sent)
            if outcome is None:
                return
            task = None if outcome.duplicate else plan(outcome.state, command.reply_to)
            # only for an executor's run: it reads where the run is, not which command answered
            result = self._run_here(task) if command.reply_to in EXECUTORS else None
            if result is None:
                if not self._durable_for(command, outcome):
                    return
                if self.stretch is not None:
                    state = outcome.state
                    task = self.stretch.hand_over(state.run_id, task, state.status.terminal)
                if command.reply_to:  # a runner's attempt report wants no answer
                    self.send(command.reply_to, _committed(command, outcome, task))
                return
            command, sent = result, False

    def _commit(self, command: Command, *, sent: bool = True) -> Outcome | None:
        """`command` decided and appended, its events handed on to publish; None: refused."""
        assert self.store is not None
        try:
            outcome = self.store.execute(command, sent=sent)
        except GroupLost as exc:  # `batch`: this command and those grouped before it are lost
            self._lost(exc)
            self._reject(command, exc)
            return None
        except WeboterError as exc:
            self._reject(command, exc)
            return None
        except Exception as exc:  # a bug: the command changed nothing; keep serving
            log.exception(
                "state manager: %s for run %s failed", type(command).__name__, command.run_id
            )
            self._reject(command, exc)
            return None
        if not outcome.duplicate:
            self.outbox.add(outcome.events, outcome.prev_seq)
        if self.durability == "batch" and not self.store.log.pending:
            self.outbox.flush()  # the group was committed with this command: publish it
        return outcome

    # --- durability `batch`: commands grouped in one transaction ---------------------------

    def _durable_for(self, command: Command, outcome: Outcome) -> bool:
        """Commit the open group before answering anybody but the executor of a run that goes
        on (a client told "committed", or a run at rest, is read back from the log by others);
        False if that commit failed (the command was answered: refused)."""
        if self.durability != "batch":
            return True
        if command.reply_to in EXECUTORS and outcome.state.status in DRIVEN:
            return True
        try:
            self._durable()
        except GroupLost as exc:
            self._reject(command, exc)
            return False
        return True

    def _durable(self) -> None:
        """Commit the open group (`batch`) and publish it; GroupLost if the commit failed."""
        if self.store is None or not self.store.log.pending:
            return
        try:
            self.store.commit()
        except GroupLost as exc:
            self._lost(exc)
            raise
        self.outbox.flush()

    def _lost(self, exc: GroupLost) -> None:
        """The group's events were never committed: nobody may hear of them."""
        log.error("state manager: %s", exc)
        self.outbox.drop()

    def _run_here(self, task: ExecuteNode | None) -> RecordNodeResult | None:
        """The result of `task` run in this thread, or None when it goes to a Node Runner: no
        stretch (workers run every node), a hook wants to see it, or the stretch says so."""
        if task is None or self.stretch is None or self.hooks_wanted or self.hooks.handlers:
            return None
        self.outbox.stretch_due()  # subscribers hear of a long stretch as it goes
        return self.stretch.run(task, self.inbox_waiting)

    def idle(self) -> float | None:
        """Called when the inbox is empty: how long to wait before publishing what is held.
        An open group (`batch`) is committed at once: nothing else waits."""
        with contextlib.suppress(GroupLost):  # logged; the results planned on it are refused
            self._durable()
        return self.outbox.wait()

    def _reject(self, command: Command, exc: BaseException) -> None:
        if not isinstance(exc, GroupLost):  # `batch`: what the refusal follows is recorded
            with contextlib.suppress(GroupLost):
                self._durable()
        if not command.reply_to:
            log.info("state manager: %s refused: %s", type(command).__name__, exc)
            return
        hint = exc.hint if isinstance(exc, WeboterError) else ""
        message = exc.message if isinstance(exc, WeboterError) else f"{type(exc).__name__}: {exc}"
        error = ErrorContext(kind=type(exc).__name__, message=message, hint=hint)
        self.send(
            command.reply_to,
            CommandRejected(command_id=command.command_id, error=error, run_id=command.run_id),
        )


def _committed(command: Command, outcome: Outcome, task: ExecuteNode | None) -> Committed:
    """The reply to `command`; `task`: the node its run executes next (None: it rests, or
    the command was a duplicate: a node is never planned twice)."""
    state = outcome.state
    return Committed(
        command_id=command.command_id,
        run_id=state.run_id,
        events=outcome.events,
        duplicate=outcome.duplicate,
        status=state.status,
        error=state.error if state.status in (RunStatus.ERROR, RunStatus.FAILED) else None,
        plan=task,
        waiting_for=state.waiting_for,
        ask_model=bool(outcome.events) and outcome.events[-1].type == "RepairRequested",
    )
