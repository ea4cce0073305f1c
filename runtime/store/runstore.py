"""`RunStore.execute(command)`: the one write path. Every state-changing command goes through
it — from the State Manager of an engine, or from a one-shot CLI command in another process.

    store = RunStore(EventLog(path), catalog, env)
    outcome = store.execute(SetVariable(command_id=..., run_id=..., reply_to="", name="n", value=3))
    outcome.events, outcome.state

One command: read the run's state at its current version (kept in memory after the first
read; a refusal based on the remembered state is checked against the log once more), decide
(core), redact secrets, append every event in one transaction, keep the folded
state (folded once, by the decision), return the stored events and the new state.

Another process may append to the same run in between (a breakpoint set from a second shell
while the run is driven here): the append then fails on UNIQUE(run_id, run_version), and the
command is decided again on the state read back from the log — it never surfaces as an
IntegrityError. A command id seen before produces no new events: its earlier ones come back.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import msgspec
from msgspec.structs import replace

from weboter.runtime.core.catalog import Catalog
from weboter.runtime.core.decide import Command, Decider
from weboter.runtime.core.decision import Decision
from weboter.runtime.core.references import EnvSource
from weboter.runtime.core.secrets import redact
from weboter.runtime.errors import IllegalTransition, RunNotFound, WeboterError
from weboter.runtime.store.eventlog import (
    DuplicateCommand,
    EventLog,
    VersionConflict,
    decode_event,
    encode_event,
)
from weboter.runtime.store.listing import FAILING, error_text
from weboter.runtime.store.projection import state_at
from weboter.runtime.store.transactions import GroupLost
from weboter.schemas.events import (
    ENGINE_STOPPED,
    SCHEMA_VERSIONS,
    Event,
    NodeCompleted,
    NodeFailed,
    RunCreated,
    RunPaused,
    RunQueued,
    RunResumed,
    RunRewound,
    RunStarted,
    event_type,
)
from weboter.schemas.messages import CreateRun, StoredEvent
from weboter.schemas.state import RunState, RunStatus

MAX_CONFLICTS = 50  # re-decisions of one command before giving up (another writer never rests)
_MARKER_BYTES = b"\x00$env{"
# events after which this process drives the run (a queued run: once a slot frees)
_CLAIMS = (RunStarted, RunResumed, RunQueued)
_DRIVEN = (RunStatus.RUNNING, RunStatus.STEPPING, RunStatus.QUEUED)
_encoder = msgspec.msgpack.Encoder()


@dataclass(frozen=True)
class Outcome:
    events: list[StoredEvent]
    state: RunState
    duplicate: bool = False  # the command id had been executed before: its events, again
    prev_seq: int = 0  # the run's last seq before these events (what they follow in the log)


class RunStore:
    def __init__(
        self, log: EventLog, catalog: Catalog, env: EnvSource, *, snapshot_every: int = 200
    ) -> None:
        self.log = log
        self.snapshot_every = snapshot_every
        self.decider = Decider(catalog, env, history=self.state_at)
        self._states: dict[str, RunState] = {}
        self._secrets: dict[str, dict[str, str]] = {}  # per run: $env values seen (to redact)
        self._workers: dict[str, str] = {}  # per run: the worker its `runs` row names

    def state_at(self, run_id: str, seq: int | None = None) -> RunState:
        return state_at(self.log, run_id, seq)

    def state(self, run_id: str) -> RunState | None:
        """The run's current state (this store's, or read from the log); None if none."""
        found = self._states.get(run_id)
        if found is not None:
            return found
        try:
            return state_at(self.log, run_id)
        except RunNotFound:
            return None

    def forget(self, run_id: str) -> None:
        """Drop what is kept in memory about a run (it is read again when next needed)."""
        self._states.pop(run_id, None)
        self._secrets.pop(run_id, None)
        self._workers.pop(run_id, None)

    def commit(self) -> None:
        """Commit the log's open group of commands (durability `batch`; else nothing to do).
        GroupLost if it could not: then what this store remembers is read from the log again."""
        try:
            self.log.commit()
        except GroupLost:
            self._states.clear()
            self._workers.clear()
            raise

    def execute(self, command: Command, *, sent: bool = True) -> Outcome:
        """Decide and commit `command`. IllegalTransition (or another WeboterError) if it is
        refused: then nothing was appended. `sent=False`: the caller made the command itself
        and never sent it (a node it ran inline), so nobody can repeat it: its id is not kept
        for idempotence."""
        run_id = command.run_id
        for _ in range(MAX_CONFLICTS):
            cached = run_id in self._states
            state = self.state(run_id)
            try:
                decision = self.decider.decide(state, command)
            except WeboterError:
                earlier = self._earlier(command)  # a repeated command may be illegal by now
                if earlier is not None:
                    return earlier
                if cached:  # refused on what this store remembered: ask the log once more
                    self._states.pop(run_id, None)
                    self._workers.pop(run_id, None)
                    continue
                raise
            try:
                stored, after = self._append(decision, run_id, command.command_id, sent)
            except DuplicateCommand:
                earlier = self._earlier(command)
                assert earlier is not None
                return earlier
            except VersionConflict:
                self._states.pop(run_id, None)  # somebody else wrote: read the log again
                self._workers.pop(run_id, None)
                continue
            except GroupLost:  # `batch`: SQLite dropped the open group: read the log again
                self._states.clear()
                self._workers.clear()
                raise
            if after.status.terminal:
                self.forget(run_id)
            else:
                self._states[run_id] = after
            if self.log.due:  # durability `batch`: the group is full or old enough
                self.commit()
            return Outcome(stored, after, prev_seq=state.seq if state is not None else 0)
        raise IllegalTransition(
            f"run {run_id} kept changing under {type(command).__name__} "
            f"({MAX_CONFLICTS} tries); nothing was recorded",
            hint="another process writes to this run without pause; try again",
        )

    def _earlier(self, command: Command) -> Outcome | None:
        """The outcome of this command id when it was executed before. A command id names one
        command about one run, of one client: the same id about another run (or a job of
        another client) is refused, so nobody learns or touches another's run through it."""
        earlier = self.log.events_of_command(command.command_id)
        if not earlier:
            return None
        if isinstance(command, CreateRun):
            first = decode_event(earlier[0].type, earlier[0].schema_version, earlier[0].payload)
            same = isinstance(first, RunCreated) and first.client == command.client
        else:
            same = earlier[0].run_id == command.run_id
        if not same:
            raise IllegalTransition(
                f"command id {command.command_id!r} was used before for another command",
                hint="give every command a new id (a UUID); repeat one only to retry it",
            )
        return Outcome(earlier, state_at(self.log, earlier[0].run_id), duplicate=True)

    def _append(
        self, decision: Decision, run_id: str, command_id: str, sent: bool
    ) -> tuple[list[StoredEvent], RunState]:
        if not decision.events:
            raise IllegalTransition("the command produced no events")
        secrets = self._secrets.setdefault(run_id, {})
        secrets.update(decision.secrets)
        payloads: list[tuple[str, bytes]] = []
        logged: list[Event] = []
        changed = claims = parks = False  # claims: this process drives the run from now on
        for event in decision.events:
            claims = claims or isinstance(event, _CLAIMS)
            parks = parks or _parks(event)
            type_ = event_type(event)
            payload = encode_event(event)
            if secrets or _MARKER_BYTES in payload:
                cleaned = _encoder.encode(_redacted(event, secrets))
                if cleaned != payload:
                    changed, payload = True, cleaned
                    event = decode_event(type_, SCHEMA_VERSIONS[type_], payload)  # noqa: PLW2901
            payloads.append((type_, payload))
            logged.append(event)
        base = decision.base
        after = decision.after if not changed else _refold(base, logged)
        status = None if base is not None and base.status == after.status else str(after.status)
        every = self.snapshot_every
        base_version = base.version if base is not None else 0
        stamped: list[RunState] = []

        def stamp(stored: list[StoredEvent]) -> tuple[int, int, bytes] | None:
            last = stored[-1]
            state = replace(after, seq=last.seq, updated_at=last.recorded_at)
            stamped.append(state)
            if every and state.version // every > base_version // every:
                return state.version, state.seq, _encoder.encode(state)
            return None

        # the `runs` row names the process driving the run, or the engine that parked it
        parked = parks and after.status == RunStatus.PAUSED
        driver = (claims and after.status in _DRIVEN) or parked
        listed = _listed(base, after, logged)
        if "worker" in listed and listed["worker"] == self._workers.get(run_id):
            listed.pop("worker")  # the row names that worker already: not once per node
        stored = self.log.append(
            run_id,
            base_version,
            payloads,
            command_id=command_id,
            status=str(after.status) if claims or parks else status,
            driver=driver,
            listed=listed,
            snapshot=stamp,
            repeatable=sent,
        )
        if "worker" in listed:
            self._workers[run_id] = str(listed["worker"] or "")
        return stored, stamped[-1]


def _parks(event: Event) -> bool:
    """A stopping engine parks the runs it drives (`ENGINE_STOPPED`): the `runs` row keeps
    naming it as their driver, so that it takes them up when it starts again (EventLog.orphaned);
    any other pause clears the driver."""
    return isinstance(event, RunPaused) and event.reason == ENGINE_STOPPED


def _listed(base: RunState | None, after: RunState, events: list[Event]) -> dict[str, str | None]:
    """What the events change in the runs list besides the status (runtime/store/listing.py):
    the failure a run in ERROR or FAILED is searched by, the worker that ran its node."""
    found: dict[str, str | None] = {}
    error = _failure(after)
    if error != (None if base is None else _failure(base)):
        found["error"] = error
    for event in events:  # a node run here, not on a worker, names none ("": the engine's)
        if isinstance(event, NodeFailed) or (isinstance(event, NodeCompleted) and event.attempts):
            found["worker"] = event.worker
    return found


def _failure(state: RunState) -> str | None:
    if state.error is None or str(state.status) not in FAILING:
        return None
    return error_text(state.error.kind, state.error.message)


def _refold(base: RunState | None, events: list[Event]) -> RunState:
    """The state after the redacted events (what the log will say), seq/time stamped later."""
    decision = Decision(base)
    for event in events:
        decision.add(event)
    return decision.after


def _redacted(event: Event, secrets: dict[str, str]) -> Any:
    """`event` as plain data with secrets redacted. A run state it carries (a fork's
    initial state, a rewind's state) was read from the log, markers and all: it is kept as
    it is (the markers are the log's own; a fork's changes were neutralised when made)."""
    trusted = None
    if isinstance(event, RunCreated) and event.initial_state is not None:
        trusted = ("initial_state", event.initial_state)
    elif isinstance(event, RunRewound):
        trusted = ("state", event.state)
    if trusted is None:
        return redact(msgspec.to_builtins(event), secrets)
    field, state = trusted
    data = redact(msgspec.to_builtins(msgspec.structs.replace(event, **{field: None})), secrets)
    data[field] = msgspec.to_builtins(state)
    return data
