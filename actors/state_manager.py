"""The State Manager: the engine's writer of the event log. Execute, reply, then announce.

Every state-changing command goes through `RunStore.execute` (runtime/store/runstore.py):
decide, redact, append in one transaction, fold once. The reply (`Committed`) tells the
command's `reply_to` where the run now is, and for a driven run which node comes next (`plan`),
so executors never fold or read the log. Committed events go to the Context Bus in batches,
within 2 ms; nothing is published before it is committed.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

from weboter.runtime.core.catalog import Catalog
from weboter.runtime.core.decide import COMMANDS, Command
from weboter.runtime.core.plan import plan
from weboter.runtime.core.references import EnvSource
from weboter.runtime.core.repair import policy_at
from weboter.runtime.errors import WeboterError
from weboter.runtime.store.eventlog import Durability, EventLog
from weboter.runtime.store.runstore import Outcome, RunStore
from weboter.runtime.transport.actor import MessageActor
from weboter.runtime.transport.addresses import BUS, STATE_MANAGER
from weboter.runtime.transport.seam import Transport
from weboter.schemas.context import ErrorContext
from weboter.schemas.messages import CommandRejected, Committed, Message, Publish, StoredEvent
from weboter.schemas.state import RunStatus

log = logging.getLogger(__name__)

# Committed events are handed to the Context Bus in batches: at most PUBLISH_DELAY seconds
# after commit, or as soon as PUBLISH_BATCH are held. Publishing each commit on its own costs
# the hot path a third of its time (bench/node_overhead.py); subscribers see events <= 2 ms late.
PUBLISH_DELAY = 0.002
PUBLISH_BATCH = 256


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
    ) -> None:
        super().__init__(bridge)
        self.db_path = db_path
        self.durability: Durability = durability
        self.snapshot_every = snapshot_every
        self.catalog = catalog
        self.env = env
        self.store: RunStore | None = None
        self._outgoing: list[StoredEvent] = []
        self._prev_seqs: dict[str, int] = {}
        self._outgoing_since = 0.0

    def started(self) -> None:
        self.on_idle(self.idle)
        self.store = RunStore(
            EventLog(self.db_path, durability=self.durability),
            self.catalog,
            self.env,
            snapshot_every=self.snapshot_every,
        )

    def stopping(self) -> None:
        self.flush()
        if self.store is not None:
            self.store.log.close()

    def handle(self, message: Message) -> None:
        if isinstance(message, COMMANDS):
            self.execute(message)
        else:
            log.warning("state manager: ignored %s", type(message).__name__)

    def execute(self, command: Command) -> None:
        assert self.store is not None
        try:
            outcome = self.store.execute(command)
        except WeboterError as exc:
            self._reject(command, exc)
            return
        except Exception as exc:  # a bug: the command changed nothing; keep serving
            log.exception(
                "state manager: %s for run %s failed", type(command).__name__, command.run_id
            )
            self._reject(command, exc)
            return
        if command.reply_to:  # a runner's attempt report wants no answer
            self.send(command.reply_to, _committed(command, outcome))
        if not outcome.duplicate:
            self._publish(outcome.events, outcome.prev_seq)

    # --- publishing: committed events go to the bus in small batches ----------------------

    def _publish(self, stored: list[StoredEvent], prev_seq: int) -> None:
        if not self._outgoing:
            self._outgoing_since = time.monotonic()
        self._outgoing.extend(stored)
        self._prev_seqs.setdefault(stored[0].run_id, prev_seq)
        if len(self._outgoing) >= PUBLISH_BATCH:
            self.flush()

    def flush(self) -> None:
        if self._outgoing:
            self.send(BUS, Publish(events=self._outgoing, prev_seqs=self._prev_seqs))
            self._outgoing, self._prev_seqs = [], {}

    def idle(self) -> float | None:
        """Called when the inbox is empty: how long to wait before publishing what is held."""
        if not self._outgoing:
            return None
        wait = PUBLISH_DELAY - (time.monotonic() - self._outgoing_since)
        if wait <= 0:
            self.flush()
            return None
        return wait

    def _reject(self, command: Command, exc: BaseException) -> None:
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


def _committed(command: Command, outcome: Outcome) -> Committed:
    state = outcome.state
    return Committed(
        command_id=command.command_id,
        run_id=state.run_id,
        events=outcome.events,
        duplicate=outcome.duplicate,
        status=str(state.status),
        error=state.error if state.status in (RunStatus.ERROR, RunStatus.FAILED) else None,
        # a browser that came back on a page unlike the recorded one always pauses the run
        break_on_error=any(b.when == "error" for b in state.breakpoints)
        or (state.error is not None and state.error.kind == "RestoreMismatch"),
        on_error=policy_at(state) if state.status == RunStatus.ERROR else None,
        plan=None if outcome.duplicate else plan(state, command.reply_to),  # never twice
    )
