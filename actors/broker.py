"""The Broker: the engine's Node Runner when nodes run in worker processes (`weboter worker`,
on this machine or others). It takes the Node Runner's address, so executors, the AI gateway
and clients send to it exactly what they send to an in-process runner; it hands each node to a
worker over its own ROUTER socket and passes the worker's reports on.

The pattern is the ZeroMQ guide's Paranoid Pirate: workers say READY (with how many nodes they
run at once), both sides send a heartbeat every `heartbeat` seconds, and a side not heard from
for `LIVENESS` beats is presumed gone (a worker reconnects with backoff). A run is leased to one
worker (its browser context lives there: runtime/workers/leases.py). When a worker is lost,
its in-flight node is recorded as re-queued (`RequeueNode` -> NodeRequeued) and sent, with the
same command id, to another worker, which puts the run's browser back from what the log
recorded. A report is passed on only from the worker holding the run, about the node it runs
now, naming only artifacts it uploaded with it (runtime/workers/reports.py): a presumed-dead
worker's late result is refused here (logged), and a result the log already has is a duplicate
there.
"""

from __future__ import annotations

import logging
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
from weboter.runtime.transport.peers import PEERS_KEPT, Bounded, Refusals, shown
from weboter.runtime.transport.seam import Transport
from weboter.runtime.transport.security import WORKERS, CurveConfig
from weboter.runtime.workers.leases import Dispatch, Entry, Leases, Task
from weboter.runtime.workers.reports import MAX_UPLOAD, Report, Uploads, read, refusal
from weboter.schemas.context import ErrorContext
from weboter.schemas.messages import (
    CancelNode,
    ExecuteNode,
    LookAtPage,
    Message,
    PageLooked,
    RecordNodeResult,
    ReleaseRun,
    RequeueNode,
)
from weboter.schemas.workers import (
    ART,
    BEAT,
    BYE,
    GONE,
    HEARTBEAT,
    LEASE,
    LIVENESS,
    MSG,
    READY,
    RunLease,
    WorkerReady,
)

log = logging.getLogger(__name__)

DRAIN = 256  # worker messages read per wake-up: the engine's own inbox gets its turn
MAX_CAPACITY = 256  # nodes at once a worker may ask for
_ready = msgspec.msgpack.Decoder(WorkerReady)


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
        context: zmq.Context[Any],
        heartbeat: float = HEARTBEAT,
    ) -> None:
        super().__init__(bridge)
        self.context = context  # the worker endpoint is a ZeroMQ socket of its own
        self.bound = ""  # the endpoint it listens at (a port 0 made real)
        self.db_path = db_path
        self.endpoint = endpoint
        self.curve = curve
        self.env = env
        self.artifacts = ArtifactStore.beside(db_path)
        self.heartbeat = heartbeat
        self.book = Leases()
        # command id -> (reply_to, the worker asked, release the run after: leased for this)
        self.looks: dict[str, tuple[str, bytes, bool]] = {}
        self.uploads = Uploads()
        self._told: Bounded[bool] = Bounded(PEERS_KEPT)  # identities told GONE once
        self._refusals = Refusals(log, who="broker", sender="a message from worker connection")
        self._socket: zmq.Socket[Any] | None = None
        self._log: EventLog | None = None
        self._next_beat = 0.0
        self._said_waiting = False
        self._said_full: set[str] = set()  # workers whose queue of waiting nodes was said

    # --- the actor's thread ----------------------------------------------------------------

    def started(self) -> None:
        check_bindable(self.endpoint, curve=self.curve is not None)
        sock = self.context.socket(zmq.ROUTER)
        if self.curve is not None:
            self.curve.serve(sock, WORKERS)
        sock.setsockopt(zmq.LINGER, 0)
        sock.setsockopt(zmq.ROUTER_MANDATORY, 1)
        sock.setsockopt(zmq.MAXMSGSIZE, MAX_UPLOAD)
        sock.setsockopt(zmq.SNDHWM, 0)  # a node is never dropped for a slow worker
        try:
            self.bound = bind(sock, self.endpoint)
        except BaseException:  # closed here: a socket left open keeps the engine from stopping
            sock.close(linger=0)
            raise
        self._socket = sock
        self._log = EventLog(self.db_path, create=False)
        self.watch(sock, self._from_workers)
        self.on_idle(self._tick)

    def stopping(self) -> None:
        if self._socket is not None:
            self._socket.close(linger=0)
        if self._log is not None:
            self._log.close()

    def receive(self, message: bytes) -> None:
        self._tick()  # beats go out however busy the inbox is
        try:
            self._from_engine(message_decoder.decode(message), message)
        except Exception:
            log.exception("broker: a message for the node runner could not be handled")

    def handle(self, message: Message) -> None:
        self._from_engine(message, encode(message))

    # --- from the engine's actors and clients ----------------------------------------------

    def _from_engine(self, message: Message, payload: bytes) -> None:
        if isinstance(message, ExecuteNode):
            if message.heal:  # the worker has no log to heal the node's locator from
                found = fingerprints(self.db_path, message)
                payload = encode(msgspec.structs.replace(message, fingerprints=found))
            storage = message.browser.storage if message.browser else ""
            task = _task(message, payload, storage)
            sent = self.book.submit(task)
            self._send(sent)
            entry = self.book.holder_of(task.run_id)
            if entry is not None and len(entry.busy) >= entry.capacity > 0:
                self._full(entry, waiting=all(t is not task for _, t, _ in sent))
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
            entry = self.book.release(message.run_id)
            self.env.forget(message.run_id)
            if entry is not None:
                self._send(self.book.fill(entry))
        else:
            log.warning("broker: ignored %s", type(message).__name__)

    def _look(self, message: LookAtPage) -> None:
        assert self._log is not None
        state = state_at(self._log, message.run_id)
        # the page to put back, and the hosts it may reach, come from the log
        message = msgspec.structs.replace(
            message,
            browser=message.browser or state.browser,
            allow_hosts=state.workflow.allow_hosts,
        )
        held = self.book.holder_of(message.run_id) is not None
        entry = self.book.place(message.run_id)
        if entry is None:
            self._looked(message.command_id, message.run_id, message.reply_to, "no worker")
            return
        if self.book.lease_pending(entry, message.run_id):
            storage = message.browser.storage if message.browser else ""
            self._lease(entry, message.run_id, storage)
        # a run leased only to be looked at, that no node will ever run on: let it go after
        done = not held and state.status.terminal
        self.looks[message.command_id] = (message.reply_to, entry.identity, done)
        self._frames(entry.identity, [MSG, encode(message)])

    def _to_holder(self, run_id: str, payload: bytes) -> None:
        entry = self.book.holder_of(run_id)
        if entry is not None:
            self._frames(entry.identity, [MSG, payload])

    def _send(self, dispatches: list[Dispatch]) -> None:
        for entry, task, new_lease in dispatches:
            if new_lease:  # the run's recorded page state goes with its lease
                self._lease(entry, task.run_id, task.storage)
            self._frames(entry.identity, [MSG, task.payload])

    def _full(self, entry: Entry, *, waiting: bool) -> None:
        """Said once per worker: its nodes beyond its capacity wait (in order) in its queue."""
        if waiting and entry.name not in self._said_full:
            self._said_full.add(entry.name)
            log.info(
                "broker: worker %s is full (%d at once): nodes wait", entry.name, entry.capacity
            )

    def _lease(self, entry: Entry, run_id: str, storage: str) -> None:
        """Tell `entry` the run is its own: the client's `$env` values and the stored page
        state its browser is put back from."""
        stored: dict[str, bytes] = {}
        if storage:
            try:
                stored[storage] = self.artifacts.get(storage)
            except OSError:
                log.warning("broker: run %s: stored browser state is missing", run_id)
        log.info("broker: run %s leased to worker %s", run_id, entry.name)
        lease = RunLease(run_id=run_id, env=self.env.sent(run_id), artifacts=stored)
        self._frames(entry.identity, [LEASE, msgspec.msgpack.encode(lease)])

    # --- from the workers ------------------------------------------------------------------

    def _from_workers(self) -> None:
        assert self._socket is not None
        for _ in range(DRAIN):
            if not self._socket.poll(0):
                break
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
        entry = self.book.seen(identity, time.monotonic())
        if entry is None:  # presumed lost, or never said READY: its reports are refused
            if kind == MSG:
                unknown = "a report from a worker this engine does not know (any more): refused"
                self._refusals.refused(identity, unknown)
            if identity not in self._told:  # once: it says READY again on a new connection
                self._told[identity] = True
                self._frames(identity, [GONE])
            return
        if kind == ART and len(frames) == 3:
            bad = self.uploads.add(identity, frames[1].decode(errors="replace"), frames[2])
            if bad is not None:
                self._refusals.refused(identity, f"worker {entry.name}: {bad}")
        elif kind == MSG and len(frames) == 3:
            self._report(entry, frames[1].decode(errors="replace"), frames[2])
        elif kind == BYE:
            self._lose(entry, "the worker stopped")
        elif kind != BEAT:
            self._refusals.refused(identity, f"worker {entry.name}: unknown frames {kind[:20]!r}")

    def _ready(self, identity: bytes, key: str, frames: list[bytes]) -> None:
        if self.curve is not None and key.encode() not in self.curve.workers:
            self._refusals.refused(identity, "READY from a key that is not a worker's")
            self._frames(identity, [GONE])
            return
        try:
            hello = _ready.decode(frames[1])
        except (IndexError, msgspec.DecodeError, msgspec.ValidationError) as exc:
            self._refusals.refused(identity, f"READY without a WorkerReady ({exc})")
            return
        name = "".join(c for c in hello.name[:64] if c.isprintable()) or identity.hex()[:12]
        capacity = min(max(hello.capacity, 1), MAX_CAPACITY)
        old = self.book.workers.get(identity)
        if old is not None and not old.runs:  # said twice, holding nothing: nothing to undo
            old.name, old.capacity, old.seen = name, capacity, time.monotonic()
            return
        if old is not None:  # it started over: what it held is placed again
            self._lose(old, "the worker started over")
        self._told.pop(identity, None)
        log.info("broker: worker %s ready (%d at once)", name, capacity)
        self._said_waiting = False
        self._send(self.book.join(identity, name, capacity, time.monotonic()))

    def _report(self, entry: Entry, dest: str, payload: bytes) -> None:
        report = read(payload)
        uploaded = self.uploads.take(entry.identity)
        sent = self.uploads.sent(entry.identity, uploaded)
        why: str | None
        if report.type in ("RecordNodeResult", "RecordAttempt") and dest == STATE_MANAGER:
            why = refusal(report, entry, self.book.holder_of(report.run_id), sent)
        elif report.type == "PageLooked":
            why = self._look_refusal(report, entry, sent)
        else:
            why = f"worker {entry.name} may not send {report.type or 'that'} to {dest!r}"
        if why is not None:
            self._refusals.refused(entry.identity, why)
            return
        for address, data in uploaded.items():
            self.artifacts.put(data, address[64:])
        self.uploads.stored(entry.identity, uploaded)
        if report.type == "PageLooked":
            reply_to, _, done = self.looks.pop(report.command_id)
            self.bridge.outbox().send_raw(reply_to, payload)
            if done:
                self._to_holder(report.run_id, encode(ReleaseRun(run_id=report.run_id)))
                self.book.release(report.run_id)
            return
        if report.type == RecordNodeResult.__name__:  # the log names the worker that ran it
            payload = _by_worker(payload, entry.name)
        self.bridge.outbox().send_raw(dest, payload)
        if report.type == RecordNodeResult.__name__:
            self._send(self.book.finished(entry, report.run_id))

    def _look_refusal(self, report: Report, entry: Entry, uploaded: set[str]) -> str | None:
        asked = self.looks.get(report.command_id)
        if asked is None or asked[1] != entry.identity:
            return f"worker {entry.name} answered a look it was not asked for"
        if report.screenshot and report.screenshot not in uploaded:
            return f"worker {entry.name} names a screenshot it did not upload"
        return None

    # --- heartbeats and lost workers -------------------------------------------------------

    def _tick(self) -> float | None:
        """Beat, and find the lost; how long until either is due again."""
        now, timeout = time.monotonic(), self.heartbeat * LIVENESS
        for entry in self.book.expired(now, timeout):
            self._lose(entry, f"no heartbeat for {timeout:g} s")
        if now >= self._next_beat:
            self._next_beat = now + self.heartbeat
            for identity in list(self.book.workers):
                self._frames(identity, [BEAT])
        expiry = self.book.next_expiry(timeout)
        due = self._next_beat if expiry is None else min(self._next_beat, expiry)
        return max(due - now, 0.01)

    def _lose(self, entry: Entry, reason: str) -> None:
        """`entry` is gone: its in-flight nodes are recorded as re-queued and, with every
        node waiting for it, placed on other workers; looks it had get an error."""
        log.warning("broker: worker %s lost (%s); its runs go to other workers", entry.name, reason)
        self.book.lost(entry)
        self._said_waiting = self._said_waiting and bool(self.book.workers)  # none left: say so
        self.uploads.forget(entry.identity)
        for task in entry.busy.values():
            requeue = RequeueNode(
                command_id=f"requeue-{task.command_id}-{entry.name}",
                run_id=task.run_id,
                reply_to="",
                node_id=task.node_id,
                version=task.version,
                worker=entry.name,
                reason=reason,
            )
            self.bridge.outbox().send(STATE_MANAGER, requeue)
        for task in [*entry.busy.values(), *entry.waiting]:
            self._send(self.book.submit(task))
        for command_id, (reply_to, asked, _) in list(self.looks.items()):
            if asked == entry.identity:
                del self.looks[command_id]
                self._looked(command_id, "", reply_to, f"worker {entry.name} was lost")

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
        except zmq.ZMQError as exc:  # gone: its heartbeat stops, its nodes are placed again
            log.info("broker: worker %s cannot take a message (%s)", shown(identity), exc)


def _task(message: ExecuteNode, payload: bytes, storage: str) -> Task:
    node = message.node.id
    return Task(
        message.run_id,
        node,
        message.version,
        message.command_id,
        message.reply_to,
        payload,
        storage,
    )


def _by_worker(payload: bytes, name: str) -> bytes:
    """A worker's RecordNodeResult naming it (the name it said READY with): the broker's
    word, not the worker's, is what NodeCompleted/NodeFailed record as `worker`."""
    result = message_decoder.decode(payload)
    if not isinstance(result, RecordNodeResult):
        return payload
    return encode(msgspec.structs.replace(result, worker=name))


def _key(frame: zmq.Frame) -> str:
    try:
        return str(frame.get("User-Id") or "")
    except zmq.ZMQError:
        return ""
