"""The Context Bus: the public event stream (PUB) and the catch-up service.

Frames on the PUB socket: `[topic, header, payload]`. The topic is `run.<run_id>.<type>`, so a
subscriber picks one run (`run.<id>.`), one type, or everything (`run.`). The header is msgpack
`{seq, prev_seq, run_id, run_version, type, schema_version, command_id, recorded_at}`;
`prev_seq` is the seq of the run's previous event, so a subscriber of a run sees any gap and
asks the catch-up endpoint for what it missed. The payload is the event exactly as logged.
Events reach the bus only after the State Manager committed them.

Every subscription is acknowledged: when a subscription for prefix P reaches the publisher, it
publishes `[P, {"subscribed": P, "engine": ID}, b""]` on that very prefix, so a subscriber that
receives it knows everything published from then on reaches it (no sleeping and hoping).
Subscribers skip frames whose header has `subscribed`; other subscribers of the same prefix see
it too. `ID` is new each time the engine starts, and every heartbeat carries it: a client that
sees another knows the engine restarted.

On a log that engines share (PostgreSQL), the stream also carries the runs other engines
drive: the bus follows the log by seq (every TAIL_SECONDS, from the seq it started at) and
publishes each event it has not published yet, so a client hears of every run whichever engine
it talks to. Polling by seq, not LISTEN/NOTIFY: it is the catch-up's own query, works on both
backends, and misses nothing (commits come in seq order: runtime/store/postgres.py); a
notification would only wake the poll sooner.
"""

from __future__ import annotations

import contextlib
import logging
import time
import uuid
from collections import OrderedDict
from pathlib import Path
from typing import Any

import msgspec
import zmq

from weboter.runtime.errors import WeboterError
from weboter.runtime.store.eventlog import EventLog
from weboter.runtime.store.location import shared
from weboter.runtime.transport.actor import MessageActor
from weboter.runtime.transport.addresses import BUS, EXECUTORS, STATE_MANAGER
from weboter.runtime.transport.bridge import bind, check_bindable
from weboter.runtime.transport.seam import Transport
from weboter.runtime.transport.security import CurveConfig
from weboter.schemas.messages import (
    CatchUp,
    EventBatch,
    Hook,
    HookInterest,
    Message,
    Ping,
    Pong,
    Publish,
    StoredEvent,
)
from weboter.schemas.stream import CaughtUp, EventHeader, Heartbeat

log_ = logging.getLogger(__name__)

_encoder = msgspec.msgpack.Encoder()


HEARTBEAT_SECONDS = 1.0  # how often the stream says its last seq (docs/protocol.md)
TAIL_SECONDS = 0.2  # a shared log: how often other engines' events are looked for
TAIL_BATCH = 1000
PUBLISHED_KEPT = 10_000  # runs whose last published seq is remembered (a shared log)
HEARTBEAT_TOPIC = b"heartbeat"


def topic(run_id: str, type_: str) -> bytes:
    return f"run.{run_id}.{type_}".encode()


class ContextBus(MessageActor):
    address = BUS

    def __init__(
        self,
        bridge: Transport,
        db_path: Path,
        endpoints: list[str],
        curve: CurveConfig | None = None,
        *,
        context: zmq.Context[Any],
    ) -> None:
        super().__init__(bridge)
        self.context = context  # the event stream is a ZeroMQ socket of its own
        self.curve = curve
        self.db_path = db_path
        self.endpoints = endpoints
        self.bound: list[str] = []
        self._hook_topics: set[bytes] = set()
        self._topics: set[bytes] = set()  # every prefix somebody subscribes to
        self._pub: zmq.Socket[Any] | None = None
        self._log: EventLog | None = None
        self._last_seq = 0  # the newest seq published
        self._engine = uuid.uuid4().hex[:16]  # new each start: clients see a restart in beats
        self._next_beat = 0.0
        self._shared = shared(db_path)  # other engines append too: follow the log
        self._tailed = 0  # the newest seq looked at in the log (a shared log)
        self._next_tail = 0.0
        self._published: OrderedDict[str, int] = OrderedDict()  # run: newest seq published

    def started(self) -> None:
        # XPUB: subscriptions reach us, so executors publish pre_node_execute only while
        # someone subscribes to hooks (it costs a message per node otherwise)
        self._pub = self.context.socket(zmq.XPUB)
        self._pub.setsockopt(zmq.LINGER, 0)
        self._pub.setsockopt(zmq.SNDHWM, 100_000)
        self._pub.setsockopt(zmq.XPUB_VERBOSE, 1)  # every subscription, to acknowledge each
        if self.curve is not None:
            self.curve.serve(self._pub)  # inproc is not encrypted by ZeroMQ: no cost there
        try:
            for endpoint in self.endpoints:
                check_bindable(endpoint, curve=self.curve is not None)
                self.bound.append(bind(self._pub, endpoint))
        except BaseException:
            self.stopping()  # a failed start undoes its own part: on_stop will not
            raise
        self.watch(self._pub, self._subscriptions)
        self._last_seq = self._opened().last_seq()  # a heartbeat before any publish says it
        self._tailed = self._last_seq
        self.on_idle(self._beat)

    def _subscriptions(self) -> None:
        """Track every subscription (frames nobody subscribed to are not built) and those that
        include hooks (telling the executors and the State Manager when that changes),
        then acknowledge each new subscription: an acknowledged hook subscriber sees the hooks
        of every node that starts afterwards."""
        assert self._pub is not None
        before = bool(self._hook_topics)
        acks: list[bytes] = []
        while True:
            try:
                frame = self._pub.recv(zmq.NOBLOCK)
            except zmq.Again:
                break
            if not frame:
                continue
            subscribed, topic = frame[0] == 1, frame[1:]
            if subscribed:
                acks.append(topic)
                self._topics.add(topic)
            else:  # XPUB_VERBOSE: an unsubscription comes when its last subscriber goes
                self._topics.discard(topic)
            if topic.startswith(b"hook") or b"hook".startswith(topic):
                if subscribed:
                    self._hook_topics.add(topic)
                else:
                    self._hook_topics.discard(topic)
        if bool(self._hook_topics) != before:
            for actor in (*EXECUTORS, STATE_MANAGER):  # it runs inline nodes unless hooked
                self.send(actor, HookInterest(active=bool(self._hook_topics)))
        for topic in acks:
            ack = _encoder.encode(
                {"subscribed": topic.decode(errors="replace"), "engine": self._engine}
            )
            self._pub.send_multipart([topic, ack, b""])

    def stopping(self) -> None:
        if self._pub is not None:
            self._pub.close(linger=0)
        if self._log is not None:
            self._log.close()

    def _beat(self) -> float | None:
        """Publish a heartbeat when one is due; how long until the next (the idle hook)."""
        now = time.monotonic()
        if now >= self._next_beat and self._pub is not None:
            beat = Heartbeat(
                heartbeat=True, last_seq=self._last_seq, at=time.time(), engine=self._engine
            )
            with contextlib.suppress(zmq.ZMQError):
                self._pub.send_multipart([HEARTBEAT_TOPIC, _encoder.encode(beat), b""])
            self._next_beat = now + HEARTBEAT_SECONDS
        if self._shared and now >= self._next_tail:
            self._tail()
            self._next_tail = now + TAIL_SECONDS
            return max(min(self._next_beat, self._next_tail) - now, 0.001)
        return max(self._next_beat - now, 0.001)

    def _tail(self) -> None:
        """Publish what other engines appended to the shared log since the last look."""
        log = self._opened()
        try:
            if not self._topics:  # nobody listens: where the log is, not what it holds
                self._tailed = self._last_seq = max(self._last_seq, log.last_seq())
                self._published.clear()  # runs moved on unseen: prev_seq comes from the log
                return
            rows = log.read_stored(after_seq=self._tailed, limit=TAIL_BATCH)
        except WeboterError as exc:  # the database away for a moment: the next look
            log_.warning("context bus: the log cannot be followed now: %s", exc.message)
            return
        for row in rows:
            self._tailed = row.seq
            self._last_seq = max(self._last_seq, row.seq)
            if row.seq > self._published.get(row.run_id, 0):
                prev = self._published.get(row.run_id)
                if prev is None:  # its predecessor's seq, from the log
                    before = log.stored_before(row.run_id, row.seq, 1)
                    prev = before[0].seq if before else 0
                self._send(row, prev)

    def handle(self, message: Message) -> None:
        self._beat()  # also while busy: the inbox may never be empty
        if isinstance(message, Publish):
            self._publish(message)
        elif isinstance(message, Hook):
            self._hook(message.run_id, message.name, message.payload)
        elif isinstance(message, CatchUp):
            self._catch_up(message)
        elif isinstance(message, Ping):  # reads no run: any client let in may ask
            self.send(message.reply_to, Pong(engine=self._engine, last_seq=self._last_seq))
        else:
            log_.warning("context bus: ignored %s", type(message).__name__)

    def _publish(self, message: Publish) -> None:
        assert self._pub is not None
        for event in message.events:  # a heartbeat says the newest seq, listened to or not
            self._last_seq = max(self._last_seq, event.seq)
        if not self._topics:  # nobody listens: ZeroMQ would drop every frame anyway
            return
        prevs = dict(message.prev_seqs)
        for event in message.events:
            prev_seq, prevs[event.run_id] = prevs.get(event.run_id, 0), event.seq
            if not self._shared or event.seq > self._published.get(event.run_id, 0):
                self._send(event, prev_seq)  # (a shared log's tail may have published it)
            # post_node_execute and on_node_error are the committed events themselves
            if event.type == "NodeCompleted":
                self._hook(event.run_id, "post_node_execute", event.payload)
            elif event.type == "NodeFailed":
                self._hook(event.run_id, "on_node_error", event.payload)

    def _send(self, event: StoredEvent, prev_seq: int) -> None:
        """Publish one committed event (if anybody subscribes to its topic)."""
        assert self._pub is not None
        if self._shared:
            self._published[event.run_id] = event.seq
            self._published.move_to_end(event.run_id)
            if len(self._published) > PUBLISHED_KEPT:
                self._published.popitem(last=False)
        about = topic(event.run_id, event.type)
        if not self._wanted(about):
            return
        header = EventHeader(
            seq=event.seq,
            prev_seq=prev_seq,
            run_id=event.run_id,
            run_version=event.run_version,
            type=event.type,
            schema_version=event.schema_version,
            command_id=event.command_id,
            recorded_at=event.recorded_at,
        )
        self._pub.send_multipart([about, _encoder.encode(header), event.payload])

    def _wanted(self, about: bytes) -> bool:
        """Whether a subscriber would receive a frame on topic `about` (building and sending
        one that nobody receives costs the engine's hot path)."""
        return any(about.startswith(prefix) for prefix in self._topics)

    def _hook(self, run_id: str, name: str, payload: dict[str, Any] | bytes) -> None:
        assert self._pub is not None
        about = f"hook.{run_id}.{name}".encode()
        if not self._wanted(about):
            return
        body = payload if isinstance(payload, bytes) else _encoder.encode(payload)
        header = _encoder.encode({"name": name, "run_id": run_id})
        self._pub.send_multipart([about, header, body])

    def _catch_up(self, request: CatchUp) -> None:
        log = self._opened()
        after = request.after_seq
        size = max(1, min(request.batch, 5000))
        prevs: dict[str, int] = {}  # each run's previous seq, across batches
        while True:
            rows = log.read_stored(request.run_id, after_seq=after, limit=size)
            items = [self._caught_up(log, row, prevs) for row in rows]
            if rows:
                after = rows[-1].seq
            done = len(rows) < size
            self.send(request.reply_to, EventBatch(events=items, done=done, last_seq=after))
            if done:
                return

    @staticmethod
    def _caught_up(log: EventLog, row: StoredEvent, prevs: dict[str, int]) -> CaughtUp:
        """`row` as a catch-up item: its header with prev_seq, the stored event inlined."""
        prev = prevs.get(row.run_id)
        if prev is None:  # the first of this run in this catch-up: its predecessor's seq
            prev = (
                log.stored_at_version(row.run_id, row.run_version - 1).seq
                if (row.run_version > 1)
                else 0
            )
        prevs[row.run_id] = row.seq
        return CaughtUp(
            seq=row.seq,
            prev_seq=prev,
            run_id=row.run_id,
            run_version=row.run_version,
            type=row.type,
            schema_version=row.schema_version,
            command_id=row.command_id,
            recorded_at=row.recorded_at,
            event=msgspec.Raw(row.payload),
        )

    def _opened(self) -> EventLog:
        if self._log is None:
            self._log = EventLog(self.db_path, create=False)
        return self._log
