"""An engine that `weboter serve` keeps up in another process or on another machine, as the
CLI's commands see it (`weboter run --engine tcp://HOST:PORT`): the same `EngineClient`, its
messages going over one CURVE-authenticated DEALER socket to the engine's command endpoint
(its identity is the client's address, so replies come back to it) and its events read from
the engine's PUB endpoint. What a run came to is read back from the engine (catch-up), since
its log is over there. A client's wait goes on across the engine's restarts: it watches the
engine's heartbeats and reads its runs from the log when an answer may have been lost
(runtime/engine/watch.py).

    with RemoteEngine("tcp://10.0.0.5:5600", keys).start() as engine:
        with engine.client() as client:
            run_id = client.submit(workflow, env={"password": "..."})
            client.wait(run_id)
"""

from __future__ import annotations

import queue
import threading
import uuid
from collections.abc import Callable
from typing import Any

import msgspec
import zmq

from weboter.runtime.core.fold import apply
from weboter.runtime.engine.client import EngineClient
from weboter.runtime.engine.serve import endpoints
from weboter.runtime.engine.watch import EngineWatch
from weboter.runtime.errors import NoAnswer, TransportError
from weboter.runtime.store.eventlog import to_record
from weboter.runtime.transport.bridge import encode, message_decoder
from weboter.runtime.transport.security import connect_client
from weboter.runtime.transport.subscriber import EventStream
from weboter.schemas.messages import Message, Ping
from weboter.schemas.state import RunState

PROBE = 5.0  # seconds an engine has to answer the first hello


class _Socket:
    """One client's DEALER: its mailbox (replies) and its outbox ([dest, payload])."""

    def __init__(self, context: zmq.Context[Any], endpoint: str, address: str, keys: Any) -> None:
        self.sock = context.socket(zmq.DEALER)
        self.sock.setsockopt(zmq.LINGER, 0)
        self.sock.setsockopt_string(zmq.IDENTITY, address)
        connect_client(self.sock, *keys)
        self.sock.connect(endpoint)

    def get(self, timeout: float | None = None) -> Message:
        wait = None if timeout is None else max(int(timeout * 1000), 0)
        if not self.sock.poll(wait):
            raise queue.Empty
        return message_decoder.decode(self.sock.recv())

    def send(self, dest: str, message: msgspec.Struct) -> bool:
        return self.send_raw(dest, encode(message))

    def send_raw(self, dest: str, payload: bytes) -> bool:
        try:
            self.sock.send_multipart([dest.encode(), payload], zmq.NOBLOCK)
        except zmq.Again:
            return False
        return True

    def forget(self, dest: str) -> None:
        """Nothing is kept per destination."""

    def close(self) -> None:
        self.sock.close(linger=0)


class _Link:
    """The part of a bridge a client uses: its DEALER is both mailbox and outbox."""

    def __init__(self, engine: RemoteEngine) -> None:
        self._engine = engine
        self._mine = threading.local()

    def mailbox(self, address: str) -> _Socket:
        e = self._engine
        self._mine.socket = _Socket(e.context, e.where["commands"], address, e.keys)
        return self._mine.socket

    def outbox(self) -> _Socket:
        return self._mine.socket

    def unregister(self, address: str) -> None:
        """The socket closes with the mailbox."""

    def close_outbox(self) -> None:
        """The socket closes with the mailbox."""


class RemoteEngine:
    def __init__(
        self,
        base: str,
        keys: tuple[bytes, bytes, bytes],
        notice: Callable[[str], None] | None = None,
    ) -> None:
        """`base`: serve's --bind; `keys`: (engine public, client public, client secret);
        `notice(text)`: told when the engine goes silent, comes back or restarts while a
        client waits on it."""
        self.base = base
        self.where = endpoints(base)
        self.keys = keys
        self.notice = notice
        self.context: zmq.Context[Any] = zmq.Context()
        self.bridge = _Link(self)

    def start(self) -> RemoteEngine:
        """Check that an engine answers there (within `PROBE` seconds): a wrong address or key
        would otherwise look like a run that never starts."""
        sock, identity = self._catchup_socket()
        try:  # a Pong; an engine older than Ping refuses it, which says as much: it is there
            sock.send(encode(Ping(reply_to=identity)), zmq.NOBLOCK)
            answered = bool(sock.poll(int(PROBE * 1000)))
        except zmq.Again:
            answered = False
        finally:
            sock.close(linger=0)
        if not answered:
            self.stop()
            raise TransportError(
                f"no engine answered at {self.base} within {PROBE:g} s",
                hint="start one there (`weboter serve --bind ...`); if it is up, this client's "
                "public key must be let in (serve --allow KEY) and --server-key must be the "
                "server_public_key it printed (its log says when it refuses a key)",
            )
        return self

    def stop(self) -> None:
        self.context.term()

    def __enter__(self) -> RemoteEngine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def client(self, *, follow: bool = True) -> EngineClient:
        """A client whose waits go on across the engine's restarts (runtime/engine/watch.py)."""
        watch = EngineWatch(self.base, self._catchup_socket, self.notice)
        return EngineClient(self, follow=follow, watch=watch)

    def _catchup_socket(self) -> tuple[zmq.Socket[Any], str]:
        """A new DEALER on the engine's catch-up endpoint, and its identity."""
        sock = self.context.socket(zmq.DEALER)
        sock.setsockopt(zmq.LINGER, 0)
        identity = f"client-{uuid.uuid4().hex[:12]}"
        sock.setsockopt_string(zmq.IDENTITY, identity)
        connect_client(sock, *self.keys)
        sock.connect(self.where["catchup"])
        return sock, identity

    def event_socket(self) -> zmq.Socket[Any]:
        sub = self.context.socket(zmq.SUB)
        sub.setsockopt(zmq.LINGER, 0)
        connect_client(sub, *self.keys)
        sub.connect(self.where["events"])
        return sub

    def forget_client(self, client: EngineClient) -> None:
        """Nothing is kept per client."""

    def state_of(self, run_id: str) -> tuple[RunState, list[Any]]:
        """The run's state, and its events, as the engine's log has them (caught up; after
        `stop` too)."""
        context: zmq.Context[Any] = zmq.Context()
        stream = EventStream(
            self.where["events"], self.where["catchup"], context=context, curve=self.keys
        )
        try:
            records = [to_record(stored) for stored in stream.catch_up(run_id, after_seq=0)]
        except NoAnswer as exc:
            raise NoAnswer(
                f"the engine at {self.base} did not answer when asked how run {run_id} ended "
                f"({exc.message})",
                hint=f"it may have stopped; `weboter history {run_id[:8]}` on its host (or "
                "against its log) shows the run",
            ) from None
        finally:
            stream.close()
            context.term()
        state: RunState | None = None
        for record in records:
            state = apply(
                state,
                record.event,
                seq=record.seq,
                version=record.run_version,
                at=record.recorded_at,
            )
        assert state is not None, f"the engine has no events of run {run_id}"
        return state, records
