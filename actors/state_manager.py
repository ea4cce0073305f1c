"""The State Manager: the only writer of the event log. Decide, append, then announce.

For every state-changing command: drop duplicates (by command id), decide the events
(runtime/decide.py), redact secrets, append them in one transaction (with a snapshot every K
events), fold them into the live state it keeps in memory, reply `Committed` to the command's
`reply_to`, and hand the committed events to the Context Bus. Nothing is published before
it is committed.
"""

from __future__ import annotations

import logging
from pathlib import Path

import msgspec

from weboter.actors.base import MessageActor
from weboter.runtime.catalog import Catalog
from weboter.runtime.decide import Command, Decider
from weboter.runtime.errors import IllegalTransition, RunNotFound, WeboterError
from weboter.runtime.eventlog import Durability, EventLog, decode_event, encode_event
from weboter.runtime.fold import apply
from weboter.runtime.projection import state_at
from weboter.runtime.references import EnvSource
from weboter.runtime.secrets import redact
from weboter.runtime.transport import BUS, Bridge
from weboter.schemas.context import ErrorContext
from weboter.schemas.events import SCHEMA_VERSIONS, Event, event_type
from weboter.schemas.messages import (
    CommandRejected,
    Committed,
    CreateRun,
    FailRun,
    Message,
    Publish,
    RecordNodeResult,
    StartRun,
    StopRun,
    StoredEvent,
)
from weboter.schemas.state import RunState

log = logging.getLogger(__name__)

_encoder = msgspec.msgpack.Encoder()
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
        self.decider = Decider(catalog, env)
        self.states: dict[str, RunState] = {}
        self.secrets: dict[str, dict[str, str]] = {}
        self.log: EventLog | None = None

    def started(self) -> None:
        self.log = EventLog(
            self.db_path, durability=self.durability, snapshot_every=self.snapshot_every
        )

    def stopping(self) -> None:
        if self.log is not None:
            self.log.close()

    def handle(self, message: Message) -> None:
        if isinstance(message, CreateRun | StartRun | RecordNodeResult | FailRun | StopRun):
            self.execute(message)
        else:
            log.warning("state manager: ignored %s", type(message).__name__)

    def execute(self, command: Command) -> None:
        assert self.log is not None
        duplicate = self.log.events_of_command(command.command_id)
        if duplicate:
            self.send(
                command.reply_to,
                Committed(
                    command_id=command.command_id,
                    run_id=duplicate[0].run_id,
                    events=duplicate,
                    duplicate=True,
                ),
            )
            return
        run_id = command.run_id
        try:
            state = self._state(run_id, create=isinstance(command, CreateRun))
            decision = self.decider.decide(state, command)
            secrets = self.secrets.setdefault(run_id, {})
            secrets.update(decision.secrets)
            stored, after = self._append(
                run_id, state, decision.events, command.command_id, secrets
            )
        except WeboterError as exc:
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
        attach = isinstance(command, StartRun | CreateRun)
        self.send(
            command.reply_to,
            Committed(
                command_id=command.command_id,
                run_id=run_id,
                events=stored,
                state=after if attach else None,
            ),
        )
        self.send(BUS, Publish(events=stored, prev_seq=state.seq if state else 0))

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
