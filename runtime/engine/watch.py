"""Waiting on the runs of an engine in another process, across the engine's restarts.

A client learns that a run rests from the engine's answer (`RunEnded`), which the engine
driving the run sends once. An engine that is killed, or stopped and started again, never sends
it: the new one takes the run up without knowing who waited. So a client of `weboter serve`
also watches the engine's heartbeats (about one a second, each with the engine's id, new at
every start). Once the engine went silent, or beats under another id, an answer may have been
lost: from then on the client also reads its runs from the engine's log (catch-up by seq,
folded here, as every reader folds) and sees there when one rests. An engine silent for
`gone_after` seconds (`$WEBOTER_ENGINE_GONE_AFTER`, default 20) is gone: the wait ends with
EngineGone, which says where and what to do.

A run that its engine paused because it stopped (`ENGINE_STOPPED`) does not rest: that engine
takes it up when it starts again, and the client waits for that as for any engine that went
away.
"""

from __future__ import annotations

import queue
import time
from collections.abc import Callable, Iterator
from typing import Any, Protocol

import msgspec
import zmq

from weboter.runtime.core.fold import apply
from weboter.runtime.engine.family import Family
from weboter.runtime.engine.settings import engine_gone_after
from weboter.runtime.errors import EngineGone, NoAnswer, WeboterError
from weboter.runtime.store.eventlog import to_record
from weboter.runtime.transport.subscriber import fetch
from weboter.schemas.events import ENGINE_STOPPED
from weboter.schemas.messages import Message, RunEnded, StoredEvent
from weboter.schemas.state import RunState, RunStatus

SILENT_AFTER = 3.0  # seconds without a heartbeat (one comes every ~1 s): the engine is away
SETTLE = 1.5  # a run in ERROR that nothing followed for this long rests (its policy waits)
ASK = 5.0  # seconds the catch-up endpoint has to answer a look at the log
# events after which a run rests: the last ones a follower of a run waits for (a client that
# reads the log looks at it at once after one, not at the next beat)
RESTING_EVENTS = frozenset(
    {"RunCompleted", "RunFailed", "RunPaused", "RunStopped", "NodeFailed", "RunRewound"}
)

OnEvent = Callable[[dict[str, Any], bytes], None]


class Waiter(Protocol):
    """What the watch needs of the client that waits (an EngineClient)."""

    sub: zmq.Socket[Any]
    mailbox: Any
    follow: bool

    def events(self, poller: zmq.Poller, wait_ms: int) -> Iterator[tuple[dict[str, Any], bytes]]:
        """The stream's frames that came, each as (header, payload)."""
        ...

    def take_early(self, run_ids: set[str]) -> list[RunEnded]:
        """The ends of these runs that came while the client waited for something else."""
        ...

    def keep(self, message: Message) -> None:
        """Keep an answer that came early, for whoever waits for it."""
        ...


class EngineWatch:
    """One client's view of its engine's life: heard when, under which id, and (once an
    answer may have been lost) its runs as the engine's log has them."""

    def __init__(
        self,
        base: str,
        connect: Callable[[], tuple[zmq.Socket[Any], str]],
        notice: Callable[[str], None] | None = None,
    ) -> None:
        """`base`: the engine's address (for messages); `connect()`: a new DEALER on its
        catch-up endpoint and that socket's identity; `notice(text)`: says what happens."""
        self.base = base
        self._connect = connect
        self._dealer: tuple[zmq.Socket[Any], str] | None = None
        self.notice = notice or (lambda _text: None)
        self.engine = ""  # the engine's id: its subscription acknowledgement's, its beats'
        self.gone_after = engine_gone_after()  # silent this long: the engine is gone
        self.heard = time.monotonic()  # the last heartbeat
        self.away = False  # silent for SILENT_AFTER: down, restarting or cut off
        self.lost = False  # an answer may have been lost: the log says when a run rests
        self.back_at: float | None = None  # when it was heard again (or restarted)
        self.due = False  # something happened since the log was last looked at
        self.shown: dict[str, int] = {}  # run -> the newest seq passed on to on_event
        self.states: dict[str, RunState] = {}  # run -> folded from the log (once lost)
        self.parked: set[str] = set()  # runs seen paused by their engine's stop
        self._since: dict[str, tuple[int, float]] = {}  # run -> (version, since) at rest
        self._on_event: OnEvent | None = None
        self.family = Family()  # the item runs of the runs it follows (a FanOut's)
        self._rested: set[str] = set()  # runs whose resting event was passed on (this wait)

    def close(self) -> None:
        if self._dealer is not None:
            self._dealer[0].close(linger=0)
            self._dealer = None

    # --- the wait ------------------------------------------------------------------------

    def wait(
        self,
        client: Waiter,
        run_ids: set[str],
        *,
        timeout: float | None = None,
        on_event: OnEvent | None = None,
    ) -> RunEnded:
        """Block until one of `run_ids` rests, as the engine answers or (an answer lost) as
        its log says; `on_event` sees each of their events once, in order, also those the
        stream missed while the engine was away. EngineGone if the engine went silent and did
        not come back within `gone_after` seconds."""
        self._on_event, self._rested = on_event, set()
        early = client.take_early(run_ids)
        for at, ended in enumerate(early):
            if not self._parks(ended):
                for other in early[at + 1 :]:
                    client.keep(other)
                return ended
        deadline = None if timeout is None else time.monotonic() + timeout
        poller = zmq.Poller()
        poller.register(client.sub, zmq.POLLIN)
        while True:
            self._show(client, poller, run_ids)
            try:
                message: Message | None = client.mailbox.get(timeout=0.0)
            except queue.Empty:
                message = None
            if isinstance(message, RunEnded) and message.run_id in run_ids:
                if not self._parks(message):
                    until = time.monotonic() + 1.0  # the stream may still carry its last events
                    while client.follow and message.run_id not in self._rested:
                        if time.monotonic() > until:
                            break
                        self._show(client, poller, run_ids)
                    return message
            elif message is not None:
                client.keep(message)
            judged = self._verdict(run_ids)
            if judged is not None:
                return judged
            if deadline is not None and time.monotonic() > deadline:
                raise WeboterError(
                    f"run(s) {', '.join(sorted(run_ids))} did not come to rest within {timeout} s"
                )

    def _show(self, client: Waiter, poller: zmq.Poller, run_ids: set[str]) -> None:
        """Take the stream's frames: heartbeats, and the events of `run_ids` (each once)."""
        for header, payload in client.events(poller, 20):
            if header.get("heartbeat"):
                self._beat(str(header.get("engine", "")))
                continue
            run = header.get("run_id")
            if run not in run_ids:
                if self._on_event is not None:  # an item run of one of them (a FanOut's)?
                    self.family.pass_on(header, payload, run_ids, self._on_event)
                continue
            if self.lost and header.get("prev_seq", 0) > self.shown.get(run, 0):
                self._read(run)  # a gap (the engine was away): what came before it, first
            if header["seq"] <= self.shown.get(run, 0):
                continue
            self._pass_on(header, payload)

    def _beat(self, engine: str) -> None:
        now = time.monotonic()
        restarted = bool(engine and self.engine and engine != self.engine)
        self.engine = engine or self.engine
        if self.away or restarted:
            how = "started again" if restarted else "answers again"
            self.notice(f"the engine at {self.base} {how}: following the run(s) from its log")
            self.lost, self.back_at = True, now
        self.away = False
        self.heard = now
        self.due = True

    def _pass_on(self, header: dict[str, Any], payload: bytes) -> None:
        run = header["run_id"]
        self.shown[run] = header["seq"]
        if header["type"] in RESTING_EVENTS:
            self.due = True
            self._rested.add(run)
        if header["type"] == "RunPaused":
            if msgspec.msgpack.decode(payload).get("reason") == ENGINE_STOPPED:
                self.parked.add(run)
        elif header["type"] in ("RunStarted", "RunResumed"):
            self.parked.discard(run)
        if self._on_event is not None:
            self._on_event(header, payload)

    # --- what the log says ---------------------------------------------------------------

    def _verdict(self, run_ids: set[str]) -> RunEnded | None:
        """A run's end as the log has it, once an answer may have been lost; EngineGone when
        the engine stayed silent too long."""
        now = time.monotonic()
        silent = now - self.heard
        if silent > self.gone_after:
            raise self._gone(run_ids)
        if silent > SILENT_AFTER:
            if not self.away:
                self.away = self.lost = True
                self.notice(
                    f"the engine at {self.base} is silent (no heartbeat for {silent:.0f} s); "
                    f"waiting for it to come back (at most {self.gone_after:g} s after the last)"
                )
            return None
        if not (self.lost and self.due):
            return None
        self.due = False
        for run in sorted(run_ids):
            state = self._read(run)
            ended = None if state is None else self._rests(state, now)
            if ended is not None:
                return ended
        return None

    def _rests(self, state: RunState, now: float) -> RunEnded | None:
        """The run's end if its state is one it rests in: terminal, PAUSED (not parked by a
        stopping engine, or parked and not taken up by the engine that came back), or ERROR
        with nothing after it for SETTLE seconds (its policy chose to wait)."""
        run, status = state.run_id, state.status
        if status.terminal:
            return RunEnded(run_id=run, status=str(status), error=state.error)
        if status not in (RunStatus.PAUSED, RunStatus.ERROR):
            self._since.pop(run, None)
            return None
        version, since = self._since.setdefault(run, (state.version, now))
        if version != state.version:
            self._since[run] = (state.version, now)
            return None
        if status == RunStatus.ERROR:
            waited = now - since >= SETTLE
            return RunEnded(run_id=run, status=str(status), error=state.error) if waited else None
        if state.pause_reason != ENGINE_STOPPED:
            return RunEnded(run_id=run, status=str(status))
        if now - max(since, self.back_at or since) > self.gone_after:
            self.notice(
                f"run {run} is still PAUSED ({ENGINE_STOPPED}) {self.gone_after:g} s after the "
                f"engine at {self.base} came back: it did not take the run up"
            )
            return RunEnded(run_id=run, status=str(status))
        return None

    def _parks(self, ended: RunEnded) -> bool:
        """Whether an answer that the run rests is its engine parking it on the way out (it
        goes on when the engine starts again): then the client waits on. The answer says
        PAUSED; or RUNNING, when the engine refused the parked run's late node result."""
        paused = ended.status == RunStatus.PAUSED
        if not paused and ended.status not in (RunStatus.RUNNING, RunStatus.STEPPING):
            return False
        if ended.run_id not in self.parked:
            state = self._read(ended.run_id)  # no answer: an engine on its way out
            if state is None and not paused:
                return False
            if state is not None and not _parked(state):
                return False
        self.lost = self.due = True
        self.notice(
            f"run {ended.run_id} is PAUSED: the engine at {self.base} stopped; waiting for it "
            "to start again and take the run up"
        )
        return True

    def _read(self, run_id: str) -> RunState | None:
        """The run as the engine's log has it now (caught up after what was folded before);
        events not shown yet are passed on. None if the engine does not answer now."""
        state = self.states.get(run_id)
        try:
            rows = self._fetch(run_id, state.seq if state is not None else 0)
        except NoAnswer:
            return None
        for row in rows:
            record = to_record(row)
            prev = state.seq if state is not None else 0
            state = apply(
                state, record.event, seq=row.seq, version=row.run_version, at=row.recorded_at
            )
            if row.seq > self.shown.get(run_id, 0):
                self._pass_on(_header(row, prev), row.payload)
        if state is not None:
            self.states[run_id] = state
        return state

    def _fetch(self, run_id: str, after_seq: int) -> list[StoredEvent]:
        if self._dealer is None:
            self._dealer = self._connect()
        try:
            return fetch(*self._dealer, run_id, after_seq, ASK)
        except NoAnswer:
            self.close()  # a late answer must not pass for the next one's: a new socket
            raise

    def _gone(self, run_ids: set[str]) -> EngineGone:
        runs = ", ".join(
            f"{run} (PAUSED there: {ENGINE_STOPPED})" if run in self.parked else run
            for run in sorted(run_ids)
        )
        short = next(iter(run_ids))[:8] if len(run_ids) == 1 else "RUN"
        return EngineGone(
            f"the engine at {self.base} is gone: nothing heard from it for {self.gone_after:g} s "
            f"while waiting on run {runs}",
            hint=f"start it again on the same log (`weboter serve --bind {self.base}` with its "
            "--db or WEBOTER_HOME): it takes up the runs it was driving, and nothing they "
            f"recorded is lost; `weboter history {short}` on its host shows where the run is",
        )


def _parked(state: RunState) -> bool:
    return state.status == RunStatus.PAUSED and state.pause_reason == ENGINE_STOPPED


def _header(row: StoredEvent, prev_seq: int) -> dict[str, Any]:
    """A caught-up event's header, as the live stream's."""
    return {
        "seq": row.seq,
        "prev_seq": prev_seq,
        "run_id": row.run_id,
        "run_version": row.run_version,
        "type": row.type,
        "schema_version": row.schema_version,
        "command_id": row.command_id,
        "recorded_at": row.recorded_at,
    }
