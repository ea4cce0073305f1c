"""Talking to an engine: submit jobs, follow the event stream, wait for ends. The engine is one
in this process (`Engine`) or one that `weboter serve` keeps up elsewhere (`RemoteEngine`,
runtime/engine/remote.py): the client sends the same messages to either."""

from __future__ import annotations

import queue
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, Protocol

import msgspec
import zmq

from weboter.runtime.core.admission import BUSY
from weboter.runtime.core.decide import Command
from weboter.runtime.core.ids import new_command_id
from weboter.runtime.engine.family import Family
from weboter.runtime.engine.watch import RESTING_EVENTS
from weboter.runtime.errors import WeboterError
from weboter.runtime.transport.addresses import (
    CONTINUOUS_EXECUTOR,
    LAUNCHER,
    NODE_RUNNER,
    STATE_MANAGER,
    STEP_EXECUTOR,
)
from weboter.runtime.transport.subscriber import subscribe
from weboter.schemas.context import NodeModifications
from weboter.schemas.messages import (
    REJECTED,
    CommandRejected,
    Committed,
    Drive,
    ForkJob,
    JobAccepted,
    LookAtPage,
    Message,
    Mode,
    PageLooked,
    ResumeJob,
    RunEnded,
    Step,
    Stop,
    SubmitJob,
)
from weboter.schemas.state import BrowserState
from weboter.schemas.workflow import Workflow

if TYPE_CHECKING:
    from weboter.runtime.engine.watch import EngineWatch

_header_decoder = msgspec.msgpack.Decoder(dict[str, Any])


class JobRejected(WeboterError):
    exit_code = 2


class EngineBusy(JobRejected):
    """Back-pressure: every run slot and queue place of the engine is taken; the run was not
    created. Exit code 75 (EX_TEMPFAIL): a script may try again later."""

    exit_code = 75


class Host(Protocol):
    """What a client needs of an engine: addresses for its replies and sends (`bridge`), a
    socket on its event stream, and to be told when the client closes."""

    bridge: Any  # mailbox(address), outbox(), unregister(address), close_outbox()

    def event_socket(self) -> zmq.Socket[Any]: ...

    def forget_client(self, client: EngineClient) -> None: ...


class EngineClient:
    """A mailbox on the engine's bridge plus a subscriber on its bus (this thread only)."""

    def __init__(
        self, engine: Host, *, follow: bool = True, watch: EngineWatch | None = None
    ) -> None:
        """`watch`: an engine in another process is watched (its heartbeats), so that a wait
        goes on across its restarts (runtime/engine/watch.py)."""
        self.engine = engine
        self.address = f"client-{new_command_id()[:12]}"
        self.mailbox = engine.bridge.mailbox(self.address)
        self.outbox = engine.bridge.outbox()
        self.sub = engine.event_socket()
        self.follow = follow
        self.watch = watch
        self._early: list[Message] = []
        self.family = Family()  # the item runs of the runs it follows (a FanOut's)
        try:
            if follow:  # every event crosses into this thread: only when someone looks
                subscribe(self.sub, b"run.")  # acknowledged: no event of a later run is lost
            if watch is not None:  # the acknowledgement names the engine, as its beats do
                watch.engine = str(subscribe(self.sub, b"heartbeat").get("engine", ""))
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        if self.sub.closed:
            return
        if self.watch is not None:
            self.watch.close()
        self.sub.close(linger=0)
        self.mailbox.close()
        self.engine.bridge.unregister(self.address)
        self.engine.bridge.close_outbox()
        self.engine.forget_client(self)

    def __enter__(self) -> EngineClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _reply(self, command_id: str, timeout: float) -> JobAccepted:
        found = self._answer(command_id, timeout, JobAccepted)
        assert isinstance(found, JobAccepted)
        return found

    def _answer(self, command_id: str, timeout: float, kind: type) -> Message:
        deadline = time.monotonic() + timeout
        while True:
            try:
                message: Message = self.mailbox.get(timeout=max(deadline - time.monotonic(), 0.01))
            except queue.Empty:
                raise WeboterError(
                    f"the engine did not answer within {timeout} s",
                    hint="an engine in another process: is `weboter serve` up at that address, "
                    "with this client's public key let in (--allow), and is --server-key the "
                    "server_public_key it printed?",
                ) from None
            if isinstance(message, kind) and getattr(message, "command_id", None) == command_id:
                return message
            if isinstance(message, CommandRejected) and message.command_id in (command_id, ""):
                refused = EngineBusy if message.error.kind == BUSY else JobRejected
                raise refused(message.error.message, hint=message.error.hint)
            self._early.append(message)

    def submit(
        self,
        workflow: Workflow,
        *,
        variables: dict[str, Any] | None = None,
        source: str = "",
        start: Mode | None = "continuous",
        command_id: str | None = None,
        timeout: float = 30.0,
        max_nodes: int | None = None,
        env: dict[str, Any] | None = None,
        on_error: str | None = None,
        evidence: str | None = None,
    ) -> str:
        """Create a run (and start it); returns its id once the log has it. `max_nodes`: its
        node budget (None: the engine's setting; 0: none). `env`: `$env` values for this run
        only, looked up before the engine's own (kept in memory, never logged). `on_error`:
        what a failing node does unless it says, `evidence` what its browser steps keep
        (None: the engine's settings)."""
        command_id = command_id or new_command_id()
        self.outbox.send(
            LAUNCHER,
            SubmitJob(
                command_id=command_id,
                workflow=workflow,
                reply_to=self.address,
                variables=variables or {},
                source=source,
                start=start,
                max_nodes=max_nodes,
                env=env or {},
                on_error=on_error,
                evidence=evidence,
            ),
        )
        return self._reply(command_id, timeout).run_id

    def send_command(self, command: Command, *, timeout: float = 30.0) -> Committed:
        """Send a state-changing command (made by the run handle, runtime/engine/handle.py,
        `reply_to` this client's address) to the State Manager; its committed events.
        JobRejected says why it was refused."""
        self.outbox.send(STATE_MANAGER, command)
        found = self._answer(command.command_id, timeout, Committed)
        assert isinstance(found, Committed)
        return found

    def fork(
        self,
        run_id: str,
        at_seq: int,
        *,
        variables: dict[str, Any] | None = None,
        patches: dict[str, NodeModifications] | None = None,
        start: Mode | None = "continuous",
        timeout: float = 30.0,
        max_nodes: int | None = None,
        env: dict[str, Any] | None = None,
        on_error: str | None = None,
    ) -> str:
        """A new run from `run_id` right after event `at_seq`; returns its id. `max_nodes`: a
        new node budget counted from the fork point (None: the parent's). `env`: as `submit`'s,
        over the parent's. `on_error`: None keeps the parent's."""
        command_id = new_command_id()
        self.outbox.send(
            LAUNCHER,
            ForkJob(
                command_id=command_id,
                run_id=run_id,
                at_seq=at_seq,
                reply_to=self.address,
                variables=variables or {},
                patches=patches or {},
                start=start,
                max_nodes=max_nodes,
                env=env or {},
                on_error=on_error,
            ),
        )
        return self._reply(command_id, timeout).run_id

    def look(
        self,
        run_id: str,
        browser: BrowserState | None,
        *,
        timeout: float = 60.0,
        refs: bool = False,
        screenshot: bool = True,
        ref: str = "",
    ) -> PageLooked:
        """What the run's page shows (its browser put back as recorded in `browser` when the
        engine has none for it): URL, title, ARIA text (`refs`: with element refs), a
        screenshot artifact. With `ref`: only the locator that finds that element."""
        command_id = new_command_id()
        ask = LookAtPage(
            command_id=command_id,
            run_id=run_id,
            reply_to=self.address,
            browser=browser,
            refs=refs,
            screenshot=screenshot,
            ref=ref,
        )
        self.outbox.send(NODE_RUNNER, ask)
        found = self._answer(command_id, timeout, PageLooked)
        assert isinstance(found, PageLooked)
        return found

    def cont(self, run_id: str) -> None:
        """Continue a LOADED, PAUSED (or ERROR: retry) run; `wait` for it to rest."""
        self.outbox.send(
            CONTINUOUS_EXECUTOR,
            Drive(command_id=new_command_id(), run_id=run_id, reply_to=self.address),
        )

    def stop(self, run_id: str) -> None:
        """Stop a run now (an in-flight action is cancelled); `wait` sees it STOPPED."""
        self.outbox.send(
            CONTINUOUS_EXECUTOR,
            Stop(command_id=new_command_id(), run_id=run_id, reply_to=self.address),
        )

    def step(self, run_id: str, *, over: bool = False, timeout: float = 30.0) -> RunEnded:
        """Run exactly one node of a LOADED or PAUSED run (`over`: a SubFlow runs whole);
        returns when it rests again."""
        self.start_step(run_id, over=over)
        return self.wait(run_id, timeout=timeout)

    def start_step(self, run_id: str, *, over: bool = False) -> str:
        """Ask for one step; `wait` sees the run rest (PAUSED) after it."""
        self.outbox.send(
            STEP_EXECUTOR,
            Step(command_id=new_command_id(), run_id=run_id, reply_to=self.address, over=over),
        )
        return run_id

    def resume(
        self,
        run_id: str,
        *,
        expect_version: int | None = None,
        timeout: float = 30.0,
        env: dict[str, Any] | None = None,
    ) -> str:
        """Take up a run whose process died; `expect_version`: only if it is still there (a
        second process resuming it at the same time is refused)."""
        command_id = new_command_id()
        self.outbox.send(
            LAUNCHER,
            ResumeJob(
                command_id=command_id,
                run_id=run_id,
                reply_to=self.address,
                expect_version=expect_version,
                env=env or {},
            ),
        )
        return self._reply(command_id, timeout).run_id

    def wait(
        self,
        run_id: str,
        *,
        timeout: float | None = None,
        on_event: Callable[[dict[str, Any], bytes], None] | None = None,
    ) -> RunEnded:
        """Block until the run rests; `on_event(header, payload)` sees each published event."""
        return self.wait_any({run_id}, timeout=timeout, on_event=on_event)

    def wait_any(
        self,
        run_ids: set[str],
        *,
        timeout: float | None = None,
        on_event: Callable[[dict[str, Any], bytes], None] | None = None,
    ) -> RunEnded:
        """Block until one of `run_ids` rests; `on_event` sees their published events. With an
        engine in another process, across its restarts (EngineGone if it does not come back)."""
        if self.watch is not None:
            return self.watch.wait(self, run_ids, timeout=timeout, on_event=on_event)
        for early in list(self._early):
            if isinstance(early, RunEnded) and early.run_id in run_ids:
                self._early.remove(early)
                return early
        deadline = None if timeout is None else time.monotonic() + timeout
        poller = zmq.Poller()
        poller.register(self.sub, zmq.POLLIN)

        rested: set[str] = set()  # runs whose resting event (end, pause) came on the stream

        def show(wait_ms: int) -> None:
            for header, payload in self.events(poller, wait_ms=wait_ms):
                if header.get("run_id") not in run_ids:
                    if on_event is not None:  # an item run of one of them (a FanOut's)?
                        self.family.pass_on(header, payload, run_ids, on_event)
                    continue
                if header.get("type") in RESTING_EVENTS:
                    rested.add(header["run_id"])
                if on_event is not None:
                    on_event(header, payload)

        while True:
            message: Message | None
            if self.follow:
                show(20)
            try:
                # following: the stream's poll above already waited; else just block here
                message = self.mailbox.get(timeout=0.0 if self.follow else 0.5)
            except queue.Empty:
                message = None
            if isinstance(message, RunEnded) and message.run_id in run_ids:
                # the stream may still carry the run's last events (they are published within
                # ms of their commit, the end comes by another path): wait for them, briefly —
                # unless the run was not driven at all (refused): no event will come
                until = time.monotonic() + (0.0 if message.status == REJECTED else 1.0)
                while self.follow and message.run_id not in rested and time.monotonic() < until:
                    show(20)
                return message
            if message is not None:
                self._early.append(message)
            if deadline is not None and time.monotonic() > deadline:
                raise WeboterError(
                    f"run(s) {', '.join(sorted(run_ids))} did not come to rest within {timeout} s"
                )

    def take_early(self, run_ids: set[str]) -> list[RunEnded]:
        """The ends of `run_ids` that came while this client waited for another answer."""
        found = [m for m in self._early if isinstance(m, RunEnded) and m.run_id in run_ids]
        self._early = [m for m in self._early if not any(m is f for f in found)]
        return found

    def keep(self, message: Message) -> None:
        """An answer that came while waiting for another: kept for whoever waits for it."""
        self._early.append(message)

    def events(self, poller: zmq.Poller, wait_ms: int) -> Iterator[tuple[dict[str, Any], bytes]]:
        if not poller.poll(wait_ms):
            return
        while True:
            try:
                _topic, header, payload = self.sub.recv_multipart(zmq.NOBLOCK)
            except zmq.Again:
                return
            decoded = _header_decoder.decode(header)
            if "subscribed" not in decoded:  # not the acknowledgement of a subscription
                yield decoded, payload
