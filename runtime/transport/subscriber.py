"""Following a run from outside the engine: subscribe, catch up, drop duplicates, fill gaps.

This is the zguide "Clone" pattern for late joiners: subscribe to the PUB stream first (so
nothing new is missed), then ask the catch-up endpoint for everything already committed, and
skip live events whose seq was already seen. A live event whose `prev_seq` is newer than the
last one seen for its run means a gap (a slow subscriber dropped messages): catch up again;
so does a heartbeat whose seq is newer than any seen (a lost tail, or an engine restarted).
ZeroMQ reconnects both sockets by itself when the engine comes back.

    stream = EventStream(pub="tcp://127.0.0.1:5602", catchup="tcp://127.0.0.1:5601")
    for event in stream.follow(timeout=5):
        print(event.seq, event.type)
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import msgspec
import zmq

from weboter.runtime.errors import NoAnswer, TransportError
from weboter.runtime.transport.bridge import encode, message_decoder
from weboter.runtime.transport.security import connect_client
from weboter.schemas.messages import CatchUp, CommandRejected, EventBatch, StoredEvent

_header_decoder = msgspec.msgpack.Decoder(dict[str, Any])


class EventStream:
    def __init__(
        self,
        pub: str,
        catchup: str,
        *,
        run_id: str | None = None,
        context: zmq.Context[Any] | None = None,
        curve: tuple[bytes, bytes, bytes] | None = None,
    ) -> None:
        """`curve`: (engine public key, client public, client secret), e.g. `client_keys(home)`
        for a `weboter serve` on this host."""
        self.context = context or zmq.Context.instance()
        self.run_id = run_id
        self.identity = f"sub-{uuid.uuid4().hex[:12]}"
        self.last_seq: dict[str, int] = {}
        self._covered = 0  # the newest heartbeat seq caught up to
        self.catchups = 0
        self._sub = self.context.socket(zmq.SUB)
        self._sub.setsockopt(zmq.LINGER, 0)
        self._dealer = self.context.socket(zmq.DEALER)
        if curve is not None:
            for sock in (self._sub, self._dealer):
                connect_client(sock, *curve)
        self._sub.connect(pub)
        self._sub.setsockopt(zmq.SUBSCRIBE, f"run.{run_id}.".encode() if run_id else b"run.")
        self._sub.setsockopt(zmq.SUBSCRIBE, b"heartbeat")  # to find a lost tail
        self._dealer.setsockopt(zmq.LINGER, 0)
        self._dealer.setsockopt_string(zmq.IDENTITY, self.identity)
        self._dealer.connect(catchup)

    def close(self) -> None:
        self._sub.close(linger=0)
        self._dealer.close(linger=0)

    def catch_up(
        self, run_id: str | None = None, after_seq: int = 0, timeout: float = 10.0
    ) -> list[StoredEvent]:
        """Everything committed after `after_seq` (for one run, or all), in seq order."""
        self.catchups += 1
        return fetch(self._dealer, self.identity, run_id, after_seq, timeout)

    def _since(self, run_id: str | None) -> list[StoredEvent]:
        """What was committed after the last heartbeat already covered (of `run_id`: after
        what this stream has of it). Duplicates are dropped by `_fresh`. Every run: a run's
        lost tail can lie below a newer event of another run, so not after the newest seen."""
        if run_id is not None:
            return self.catch_up(run_id, after_seq=self.last_seq.get(run_id, 0))
        return self.catch_up(None, after_seq=self._covered)

    def follow(self, timeout: float = 10.0, idle: float | None = None) -> Iterator[StoredEvent]:
        """Committed events, each once and in order per run: history first, then live.

        Stops after `timeout` seconds in all, or after `idle` seconds without an event.
        """
        history = self.catch_up(self.run_id, after_seq=self._covered if self.run_id is None else 0)
        self._covered = max([self._covered, *(e.seq for e in history)])
        yield from self._fresh(history)
        deadline = time.monotonic() + timeout
        last_event = time.monotonic()
        while time.monotonic() < deadline:
            if idle is not None and time.monotonic() - last_event > idle:
                return
            if not self._sub.poll(50):
                continue
            _topic, header_bytes, payload = self._sub.recv_multipart()
            header = _header_decoder.decode(header_bytes)
            if "subscribed" in header:
                continue  # the publisher's acknowledgement of a subscription
            if header.get("heartbeat"):  # the engine's newest seq: a lost tail shows here
                if header["last_seq"] > self._covered:
                    caught = list(self._fresh(self._since(self.run_id)))
                    self._covered = header["last_seq"]
                    if caught:
                        last_event = time.monotonic()
                    yield from caught
                continue
            run = header["run_id"]
            seen = self.last_seq.get(run, 0)
            if header["seq"] <= seen:
                continue  # already had it from a catch-up
            if header["prev_seq"] > seen:  # a gap: fetch what is missing first
                yield from self._fresh(self.catch_up(run, after_seq=seen))
                if header["seq"] <= self.last_seq.get(run, 0):
                    continue
            last_event = time.monotonic()
            yield from self._fresh(
                [
                    StoredEvent(
                        header["seq"],
                        run,
                        header["run_version"],
                        header["type"],
                        header["schema_version"],
                        header["command_id"],
                        header["recorded_at"],
                        payload,
                    )
                ]
            )

    def _fresh(self, events: list[StoredEvent]) -> Iterator[StoredEvent]:
        for event in events:
            if event.seq > self.last_seq.get(event.run_id, 0):
                self.last_seq[event.run_id] = event.seq
                yield event


def fetch(
    dealer: zmq.Socket[Any],
    identity: str,
    run_id: str | None = None,
    after_seq: int = 0,
    timeout: float = 10.0,
) -> list[StoredEvent]:
    """Everything committed after `after_seq` (for one run, or all), in seq order, asked of
    the catch-up endpoint `dealer` is connected to (its identity `identity`). NoAnswer if the
    engine does not answer within `timeout` seconds; TransportError if it refuses."""
    dealer.send(encode(CatchUp(reply_to=identity, after_seq=after_seq, run_id=run_id)))
    found: list[StoredEvent] = []
    deadline = time.monotonic() + timeout
    while True:
        remaining = int(max(deadline - time.monotonic(), 0) * 1000)
        if not dealer.poll(remaining):
            raise NoAnswer(f"the catch-up endpoint did not answer within {timeout} s")
        reply = message_decoder.decode(dealer.recv())
        if isinstance(reply, CommandRejected):
            raise TransportError(reply.error.message, hint=reply.error.hint)
        if not isinstance(reply, EventBatch):
            continue
        found.extend(
            StoredEvent(
                e.seq,
                e.run_id,
                e.run_version,
                e.type,
                e.schema_version,
                e.command_id,
                e.recorded_at,
                bytes(e.event),
            )
            for e in reply.events
        )
        if reply.done:
            return found


def subscribe(sub: zmq.Socket[Any], prefix: bytes, timeout: float = 10.0) -> dict[str, Any]:
    """Subscribe `sub` (connected) to `prefix` and wait for the publisher's acknowledgement,
    so every event published from now on reaches it. Frames that come before it are dropped.
    Returns the acknowledgement (`engine`: the publishing engine's id, as its heartbeats say).
    TransportError if none comes within `timeout` seconds."""
    sub.setsockopt(zmq.SUBSCRIBE, prefix)
    deadline = time.monotonic() + timeout
    while (left := deadline - time.monotonic()) > 0:
        if not sub.poll(int(left * 1000) + 1):
            break
        _topic, header, _payload = sub.recv_multipart()
        ack = _header_decoder.decode(header)
        if ack.get("subscribed") == prefix.decode(errors="replace"):
            return ack
    raise TransportError(
        f"the event stream did not acknowledge a subscription to {prefix!r} within {timeout} s",
        hint="is the engine up, and is this the endpoint it printed?",
    )
