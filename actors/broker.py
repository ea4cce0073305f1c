"""The Broker: the engine's Node Runner when nodes run in worker processes (`weboter worker`,
on this machine or others). It takes the Node Runner's address, so executors, the AI gateway
and clients send to it exactly what they send to an in-process runner; it hands each node to a
worker over its own ROUTER socket and passes the worker's reports on.

The pattern is the ZeroMQ guide's Paranoid Pirate: workers say READY (with how many nodes they
run at once), both sides send a heartbeat every `heartbeat` seconds, and a side not heard from
for `liveness` beats is presumed gone (a worker reconnects with backoff). A run is leased to one
worker (its browser context lives there: runtime/transport/leases.py). When a worker is lost,
its in-flight node is recorded as re-queued (`RequeueNode` -> NodeRequeued) and sent, with the
same command id, to another worker, which puts the run's browser back from what the log
recorded. Reports are taken only from the worker holding the run: a presumed-dead worker's late
result is refused here (logged), and a result the log already has is a duplicate there.
"""

from __future__ import annotations

import hashlib
import logging
import re
import time
from pathlib import Path
from typing import Any

import msgspec
import zmq

from weboter.runtime.browser.heal import fingerprints
from weboter.runtime.core.references import EnvSource
from weboter.runtime.store.artifacts import ArtifactStore
from weboter.runtime.store.eventlog import EventLog
from weboter.runtime.store.projection import state_at
from weboter.runtime.transport.actor import MessageActor
from weboter.runtime.transport.addresses import NODE_RUNNER, STATE_MANAGER
from weboter.runtime.transport.bridge import bind, check_bindable, encode, message_decoder
from weboter.runtime.transport.leases import Dispatch, Leases, Task, Worker
from weboter.runtime.transport.peers import Refusals
from weboter.runtime.transport.seam import Transport
from weboter.runtime.transport.security import CurveConfig
from weboter.schemas.context import ErrorContext
from weboter.schemas.messages import (
    CancelNode,
    ExecuteNode,
    LookAtPage,
    Message,
    PageLooked,
    ReleaseRun,
    RequeueNode,
)
from weboter.schemas.state import BrowserState
from weboter.schemas.workers import ART, BEAT, GONE, LEASE, MSG, READY, RunLease, WorkerReady

log = logging.getLogger(__name__)

HEARTBEAT = 2.5  # seconds between beats, both ways
LIVENESS = 3  # beats missed before the other side is presumed gone
MAX_FRAME = 256 * 1024 * 1024  # an artifact (a download, a screenshot) fits; a flood does not
_ADDRESS = re.compile(r"[0-9a-f]{64}(\.[a-z0-9]{1,8})?")
_ready = msgspec.msgpack.Decoder(WorkerReady)


class _Report(msgspec.Struct):
    """What the broker reads of a worker's report to route it (the rest is for its receiver,
    which decodes it whole): its type, and the run or question it answers."""

    type: str = ""
    run_id: str = ""
    command_id: str = ""


_report = msgspec.msgpack.Decoder(_Report)
REPORTS = ("RecordNodeResult", "RecordAttempt")


class Broker(MessageActor):
    address = NODE_RUNNER

    def __init__(
        self,
        bridge: Transport,
        db_path: Path,
        endpoint: str,
        curve: CurveConfig | None,
        env: EnvSource,
        *,
        heartbeat: float = HEARTBEAT,
    ) -> None:
        super().__init__(bridge)
        self.db_path = db_path
        self.endpoint = endpoint
        self.curve = curve
        self.env = env
        self.artifacts = ArtifactStore.beside(db_path)
        self.heartbeat = heartbeat
        self.book = Leases()
        self.looks: dict[str, tuple[str, bytes]] = {}  # command id -> (reply_to, worker)
        self._refusals = Refusals(log)
        self._socket: zmq.Socket[Any] | None = None
        self._log: EventLog | None = None
        self._next_beat = 0.0
        self._said_waiting = False

    # --- the actor's thread ----------------------------------------------------------------

    def started(self) -> None:
        check_bindable(self.endpoint, curve=self.curve is not None)
        sock = self.bridge.context.socket(zmq.ROUTER)
        if self.curve is not None:
            self.curve.serve(sock)
        sock.setsockopt(zmq.LINGER, 0)
        sock.setsockopt(zmq.ROUTER_MANDATORY, 1)
        sock.setsockopt(zmq.MAXMSGSIZE, MAX_FRAME)
        self._socket = sock
        self.bridge.bound[self.endpoint] = bind(sock, self.endpoint)
        self._log = EventLog(self.db_path, create=False)
        self.watch(sock, self._from_workers)
        self.on_idle(self._tick)

    def stopping(self) -> None:
        if self._socket is not None:
            self._socket.close(linger=0)
        if self._log is not None:
            self._log.close()

    def on_receive(self, message: Any) -> Any:
        self._tick()  # beats go out however busy the inbox is
        if isinstance(message, bytes):
            try:
                self._from_engine(message_decoder.decode(message), message)
            except Exception:
                log.exception("broker: a message for the node runner could not be handled")
        return None

    def handle(self, message: Message) -> None:
        self._from_engine(message, encode(message))

    # --- from the engine's actors and clients ----------------------------------------------

    def _from_engine(self, message: Message, payload: bytes) -> None:
        if isinstance(message, ExecuteNode):
            if message.heal:  # the worker has no log to heal the node's locator from
                found = fingerprints(self.db_path, message)
                payload = encode(msgspec.structs.replace(message, fingerprints=found))
            task = Task(message.run_id, message.node.id, message.version, payload)
            self._send(self.book.submit(task))
            if self.book.unplaced and not self._said_waiting:
                log.warning("broker: no worker connected; nodes wait (start `weboter worker`)")
                self._said_waiting = True
        elif isinstance(message, LookAtPage):
            self._look(message)
        elif isinstance(message, CancelNode):
            self.book.cancel(message.run_id)
            self._to_holder(message.run_id, payload)
        elif isinstance(message, ReleaseRun):
            self._to_holder(message.run_id, payload)
            worker = self.book.release(message.run_id)
            self.env.forget(message.run_id)
            if worker is not None:
                self._send(self.book.fill(worker))
        else:
            log.warning("broker: ignored %s", type(message).__name__)

    def _look(self, message: LookAtPage) -> None:
        if message.browser is None:  # the page to put back comes from the log
            assert self._log is not None
            message = msgspec.structs.replace(
                message, browser=state_at(self._log, message.run_id).browser
            )
        worker, new = self.book.place(message.run_id)
        if worker is None:
            self._looked(message.command_id, message.run_id, message.reply_to, "no worker")
            return
        if new:
            self._lease(worker, message.run_id, message.browser)
        self.looks[message.command_id] = (message.reply_to, worker.identity)
        self._frames(worker.identity, [MSG, encode(message)])

    def _to_holder(self, run_id: str, payload: bytes) -> None:
        worker = self.book.holder_of(run_id)
        if worker is not None:
            self._frames(worker.identity, [MSG, payload])

    def _send(self, dispatches: list[Dispatch]) -> None:
        for worker, task, new in dispatches:
            if new:  # the run's recorded browser goes with its lease
                node = message_decoder.decode(task.payload)
                assert isinstance(node, ExecuteNode)
                self._lease(worker, task.run_id, node.browser)
            self._frames(worker.identity, [MSG, task.payload])

    def _lease(self, worker: Worker, run_id: str, browser: BrowserState | None) -> None:
        """Tell `worker` the run is its own: the client's `$env` values and the stored
        browser state its page is put back from."""
        stored: dict[str, bytes] = {}
        if browser is not None and browser.storage:
            try:
                stored[browser.storage] = self.artifacts.get(browser.storage)
            except OSError:
                log.warning("broker: run %s: stored browser state is missing", run_id)
        lease = RunLease(run_id=run_id, env=self.env.sent(run_id), artifacts=stored)
        self._frames(worker.identity, [LEASE, msgspec.msgpack.encode(lease)])

    # --- from the workers ------------------------------------------------------------------

    def _from_workers(self) -> None:
        assert self._socket is not None
        while self._socket.poll(0):
            parts = self._socket.recv_multipart(copy=False)
            try:
                self._from_worker(parts)
            except Exception:  # one bad frame never stops the broker
                log.exception("broker: a worker's message could not be handled; dropped")
        self._tick()

    def _from_worker(self, parts: list[zmq.Frame]) -> None:
        identity, frames = parts[0].bytes, [p.bytes for p in parts[1:]]
        kind = frames[0] if frames else b""
        if kind == READY:
            self._ready(identity, _key(parts[0]), frames)
            return
        worker = self.book.seen(identity, time.monotonic())
        if worker is None:  # presumed lost, or never said READY: its reports are refused
            why = "not a worker this engine knows (lost, or never said READY)"
            if kind == MSG:
                why = f"a report from {why}: refused"
            self._refusals.refused(identity, why)
            self._frames(identity, [GONE])
            return
        if kind == BEAT:
            return
        if kind == ART and len(frames) == 3:
            self._artifact(worker, frames[1].decode(errors="replace"), frames[2])
        elif kind == MSG and len(frames) == 3:
            self._report(worker, frames[1].decode(errors="replace"), frames[2])
        else:
            self._refusals.refused(identity, f"worker {worker.name}: unknown frames {kind!r}")

    def _ready(self, identity: bytes, key: str, frames: list[bytes]) -> None:
        if self.curve is not None and key.encode() not in self.curve.workers:
            why = "READY from a key that is not a worker's (serve --worker KEY lets one in)"
            self._refusals.refused(identity, why)
            self._frames(identity, [GONE])
            return
        try:
            hello = _ready.decode(frames[1])
        except (IndexError, msgspec.DecodeError) as exc:
            self._refusals.refused(identity, f"READY without a WorkerReady ({exc})")
            return
        old = self.book.workers.get(identity)
        if old is not None:  # it started over: what it held is placed again
            self._lose(old, "the worker started over")
        log.info("broker: worker %s ready (%d slots)", hello.name, hello.capacity)
        self._said_waiting = False
        self._send(self.book.join(identity, hello.name, hello.capacity, time.monotonic()))

    def _artifact(self, worker: Worker, address: str, data: bytes) -> None:
        suffix = address[64:]
        if not _ADDRESS.fullmatch(address) or hashlib.sha256(data).hexdigest() != address[:64]:
            self._refusals.refused(worker.identity, f"artifact {address[:80]!r}: not its hash")
            return
        self.artifacts.put(data, suffix)

    def _report(self, worker: Worker, dest: str, payload: bytes) -> None:
        report = _report.decode(payload)
        if report.type in REPORTS and dest == STATE_MANAGER:
            holder = self.book.holder_of(report.run_id)
            if holder is not worker:
                held = holder.name if holder else "no worker"
                self._refusals.refused(
                    worker.identity,
                    f"a result for run {report.run_id} from worker {worker.name}, which does "
                    f"not hold its lease ({held} does): refused",
                )
                return
            self.bridge.outbox().send_raw(dest, payload)
            if report.type == "RecordNodeResult":
                self._send(self.book.finished(worker, report.run_id))
        elif report.type == "PageLooked" and report.command_id in self.looks:
            reply_to, _ = self.looks.pop(report.command_id)
            self.bridge.outbox().send_raw(reply_to, payload)
        else:
            why = f"worker {worker.name} may not send {report.type or 'that'} to {dest!r}"
            self._refusals.refused(worker.identity, why)

    # --- heartbeats and lost workers -------------------------------------------------------

    def _tick(self) -> float | None:
        now = time.monotonic()
        if now < self._next_beat:
            return self._next_beat - now
        self._next_beat = now + self.heartbeat
        for worker in self.book.expired(now, self.heartbeat * LIVENESS):
            self._lose(worker, f"no heartbeat for {self.heartbeat * LIVENESS:g} s")
        for identity in list(self.book.workers):
            self._frames(identity, [BEAT])
        return self.heartbeat

    def _lose(self, worker: Worker, reason: str) -> None:
        """`worker` is gone: its in-flight nodes are recorded as re-queued and, with every
        node waiting for it, placed on other workers; looks it had get an error."""
        log.warning(
            "broker: worker %s lost (%s); its runs go to other workers", worker.name, reason
        )
        self.book.lost(worker)
        for task in worker.busy.values():
            requeue = RequeueNode(
                command_id=f"requeue-{task.run_id}-{task.version}-{worker.name}",
                run_id=task.run_id,
                reply_to="",
                node_id=task.node_id,
                version=task.version,
                worker=worker.name,
                reason=reason,
            )
            self.bridge.outbox().send(STATE_MANAGER, requeue)
        for task in [*worker.busy.values(), *worker.waiting]:
            self._send(self.book.submit(task))
        for command_id, (reply_to, holder) in list(self.looks.items()):
            if holder == worker.identity:
                del self.looks[command_id]
                self._looked(command_id, "", reply_to, f"worker {worker.name} was lost")

    def _looked(self, command_id: str, run_id: str, reply_to: str, why: str) -> None:
        error = ErrorContext(
            kind="WorkerLost",
            message=f"cannot look at the page: {why}",
            hint="start a worker (`weboter worker --connect ...`), then ask again",
        )
        self.send(reply_to, PageLooked(command_id=command_id, run_id=run_id, error=error))

    def _frames(self, identity: bytes, frames: list[bytes]) -> None:
        assert self._socket is not None
        try:
            self._socket.send_multipart([identity, *frames], zmq.NOBLOCK)
        except zmq.ZMQError as exc:  # gone, or not keeping up: its heartbeat will tell
            log.info("broker: worker %r cannot take a message (%s)", identity, exc)


def _key(frame: zmq.Frame) -> str:
    try:
        return str(frame.get("User-Id") or "")
    except zmq.ZMQError:
        return ""
