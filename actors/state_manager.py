"""The State Manager: the only writer of the event log. Decide, append, then announce.

For every state-changing command: drop duplicates (by command id), decide the events
(runtime/core/decide.py), redact secrets, append them in one transaction (with a snapshot every K
events), fold them into the live state it keeps in memory, reply `Committed` to the command's
`reply_to`, and hand the committed events to the Context Bus (in batches, within 2 ms).
Nothing is published before it is committed.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import msgspec

from weboter.runtime.core.catalog import Catalog
from weboter.runtime.core.decide import COMMANDS, Command, Decider
from weboter.runtime.core.fold import apply
from weboter.runtime.core.references import EnvSource
from weboter.runtime.core.secrets import redact
from weboter.runtime.errors import IllegalTransition, RunNotFound, WeboterError
from weboter.runtime.store.eventlog import (
    DuplicateCommand,
    Durability,
    EventLog,
    decode_event,
    encode_event,
)
from weboter.runtime.store.projection import state_at
from weboter.runtime.transport.actor import MessageActor
from weboter.runtime.transport.bridge import BUS, Bridge, SocketInbox
from weboter.schemas.context import ErrorContext
from weboter.schemas.events import SCHEMA_VERSIONS, Event, event_type
from weboter.schemas.messages import (
    CommandRejected,
    Committed,
    CreateRun,
    Message,
    Publish,
    StartRun,
    StopRun,
    StoredEvent,
)
from weboter.schemas.state import RunState

log = logging.getLogger(__name__)

_encoder = msgspec.msgpack.Encoder()

# Committed events are handed to the Context Bus in batches: at most PUBLISH_DELAY seconds
# after commit, or as soon as PUBLISH_BATCH are held. Publishing each commit on its own costs
# the hot path a third of its time (bench/node_overhead.py); subscribers see events <= 2 ms late.
PUBLISH_DELAY = 0.002
PUBLISH_BATCH = 256
_MARKER_BYTES = b"\x00$env{"


class StateManager(MessageActor):
    address = "state_manager"

    def __init__(
        self,
        bridge: Bridge,
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
        self.decider = Decider(catalog, env, history=self._history)
        self.states: dict[str, RunState] = {}
        self.secrets: dict[str, dict[str, str]] = {}
        self.log: EventLog | None = None
        self._outgoing: list[StoredEvent] = []
        self._prev_seqs: dict[str, int] = {}
        self._outgoing_since = 0.0

    def started(self) -> None:
        assert isinstance(self.actor_inbox, SocketInbox)
        self.actor_inbox.idle = self.idle
        self.log = EventLog(self.db_path, durability=self.durability)

    def stopping(self) -> None:
        self.flush()
        if self.log is not None:
            self.log.close()

    def handle(self, message: Message) -> None:
        if isinstance(message, COMMANDS):
            self.execute(message)
        else:
            log.warning("state manager: ignored %s", type(message).__name__)

    def execute(self, command: Command) -> None:
        assert self.log is not None
        run_id = command.run_id
        state: RunState | None = None
        try:
            state = self._state(run_id, create=isinstance(command, CreateRun))
            decision = self.decider.decide(state, command)
            secrets = self.secrets.setdefault(run_id, {})
            secrets.update(decision.secrets)
            stored, after = self._append(
                run_id, state, decision.events, command.command_id, secrets
            )
        except DuplicateCommand:
            self._duplicate(command)
            return
        except WeboterError as exc:
            if not self._duplicate(command):  # a repeated command may be illegal by now
                self._reject(command, exc)
            return
        except Exception as exc:  # a failed append or a bug: the command changed nothing
            log.exception("state manager: %s for run %s failed", type(command).__name__, run_id)
            self._reject(command, exc)
            return
        if after.status.terminal:
            self.states.pop(run_id, None)
            self.secrets.pop(run_id, None)
        else:
            self.states[run_id] = after
        attach = isinstance(command, StartRun | CreateRun | StopRun)
        self.send(
            command.reply_to,
            Committed(
                command_id=command.command_id,
                run_id=run_id,
                events=stored,
                state=after if attach else None,
            ),
        )
        self._publish(stored, state.seq if state else 0)

    def _duplicate(self, command: Command) -> bool:
        assert self.log is not None
        earlier = self.log.events_of_command(command.command_id)
        if earlier:
            self.send(
                command.reply_to,
                Committed(
                    command_id=command.command_id,
                    run_id=earlier[0].run_id,
                    events=earlier,
                    duplicate=True,
                ),
            )
        return bool(earlier)

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

    def _history(self, run_id: str, seq: int) -> RunState:
        assert self.log is not None
        return state_at(self.log, run_id, seq)

    def _state(self, run_id: str, *, create: bool) -> RunState | None:
        found = self.states.get(run_id)
        if found is not None or create:
            return found
        assert self.log is not None
        try:
            return state_at(self.log, run_id)
        except RunNotFound:
            return None

    def _append(
        self,
        run_id: str,
        state: RunState | None,
        events: list[Event],
        command_id: str,
        secrets: dict[str, str],
    ) -> tuple[list[StoredEvent], RunState]:
        assert self.log is not None
        if not events:
            raise IllegalTransition("the command produced no events")
        payloads: list[tuple[str, bytes]] = []
        folded: list[Event] = []
        for event in events:
            payload = encode_event(event)
            if secrets or _MARKER_BYTES in payload:
                cleaned = redact(msgspec.to_builtins(event), secrets)
                payload = _encoder.encode(cleaned)
                event = decode_event(event_type(event), SCHEMA_VERSIONS[event_type(event)], payload)  # noqa: PLW2901
            payloads.append((event_type(event), payload))
            folded.append(event)
        base_version = state.version if state else 0
        result: dict[str, RunState] = {}

        def snapshot(stored: list[StoredEvent]) -> tuple[int, int, bytes] | None:
            current = state
            for event, row in zip(folded, stored, strict=True):
                current = apply(
                    current, event, seq=row.seq, version=row.run_version, at=row.recorded_at
                )
            assert current is not None
            result["state"] = current
            every = self.snapshot_every
            if every and current.version // every > base_version // every:
                return current.version, current.seq, _encoder.encode(current)
            return None

        stored = self.log.append(
            run_id, base_version, payloads, command_id=command_id, snapshot=snapshot
        )
        return stored, result["state"]

    def _reject(self, command: Command, exc: BaseException) -> None:
        hint = exc.hint if isinstance(exc, WeboterError) else ""
        message = exc.message if isinstance(exc, WeboterError) else f"{type(exc).__name__}: {exc}"
        error = ErrorContext(kind=type(exc).__name__, message=message, hint=hint)
        self.send(
            command.reply_to,
            CommandRejected(command_id=command.command_id, error=error, run_id=command.run_id),
        )
