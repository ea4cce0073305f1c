"""What every actor shares: its inbox, decoding what arrives, sending through this thread's
Outbox, and surviving a bad message (log it, keep serving).

Why an actor's pykka inbox is a ZeroMQ socket (`SocketInbox`), and why it lives here alone:
pykka's public API delivers messages through `ActorRef.tell` into a queue. A message from
another actor would then cross two threads — a receiving thread that owns the socket, then the
actor's own — which costs a thread wake-up per message on the hot path (a node takes three
hops). With the socket as the inbox, the actor's thread blocks on the socket itself, and
pykka's own envelopes (stop, ask) arrive through `put` and a wake-up pipe. This needs one of
pykka's non-public names, the `_create_actor_inbox` hook (pykka has no public way to give an
actor its inbox). A message from the socket is handed to pykka as a `_Delivered`, which has the
two attributes pykka's receive loop reads from an envelope (`message`, `reply_to`), so pykka's
own Envelope type is not imported. Both stay in this module: a pykka upgrade that changes them
breaks here and nowhere else (tests/actors cover it).
"""

from __future__ import annotations

import collections
import contextlib
import logging
import os
import queue
import threading
from collections.abc import Callable
from typing import Any

import msgspec
import pykka
import zmq

from weboter.runtime.transport.bridge import message_decoder
from weboter.runtime.transport.seam import Sender, Transport
from weboter.schemas.messages import Message

log = logging.getLogger(__name__)

_EVENTS, _POLLIN = int(zmq.EVENTS), int(zmq.POLLIN)


class _Delivered:
    """A message from the socket, as pykka's receive loop reads an envelope: its `message`,
    and `reply_to` (None: nobody waits for an answer; actors answer by message)."""

    __slots__ = ("message", "reply_to")

    def __init__(self, message: bytes) -> None:
        self.message = message
        self.reply_to = None


class SocketInbox:
    """A pykka actor inbox fed by a ZeroMQ PULL socket (other actors' messages) and by `put`
    (pykka's own envelopes from any thread, signalled through a pipe)."""

    def __init__(self) -> None:
        self.context: zmq.Context[Any] | None = None
        self.endpoint = ""
        self._local: collections.deque[Any] = collections.deque()
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        self._socket: zmq.Socket[Any] | None = None
        self._poller: zmq.Poller | None = None
        self._closed = False
        self._lock = threading.Lock()
        # The owner's hook, called when nothing is waiting: returns how long (seconds) to wait
        # before calling it again, or None to wait for the next message.
        self.idle: Callable[[], float | None] | None = None
        self._watched: dict[zmq.Socket[Any], Callable[[], None]] = {}

    def attach(self, context: zmq.Context[Any] | None, endpoint: str) -> None:
        """A context and endpoint to bind the PULL socket at; None: memory mode (messages
        arrive through `deliver` only; runtime/transport/memory.py)."""
        self.context, self.endpoint = context, endpoint

    def deliver(self, payload: bytes) -> None:
        """A message from the in-memory transport (any thread)."""
        self.put(_Delivered(payload))

    def put(self, envelope: Any, block: bool = True, timeout: float | None = None) -> None:
        self._local.append(envelope)
        with self._lock:  # never write to the pipe once `close` gave its descriptor back
            if not self._closed:
                with contextlib.suppress(OSError):
                    os.write(self._wake_w, b"\0")

    def empty(self) -> bool:
        return not self._local

    def waiting(self) -> bool:
        """True when a message waits (from the socket, or pykka's own): cheap, never blocks."""
        if self._local:
            return True
        if self._socket is None:
            return False
        ready: int = self._socket.getsockopt(_EVENTS)  # type: ignore[assignment]
        return bool(ready & _POLLIN)  # ints, not zmq's enums: cheaper

    def get(self, block: bool = True, timeout: float | None = None) -> Any:
        while True:
            if self._local:
                return self._local.popleft()
            if self._closed:
                raise queue.Empty
            if self._poller is None:
                self._open()
            assert self._poller is not None
            if self._socket is not None:
                ready = self._socket.getsockopt(zmq.EVENTS)  # raises nothing when empty
                if isinstance(ready, int) and ready & zmq.POLLIN:
                    return _Delivered(self._socket.recv())
            wait = self.idle() if self.idle is not None else None
            events = dict(self._poller.poll(None if wait is None else max(int(wait * 1000), 1)))
            for sock, on_ready in self._watched.items():
                if sock in events:
                    on_ready()
            if self._wake_r in events:
                with contextlib.suppress(BlockingIOError):
                    os.read(self._wake_r, 4096)

    def _open(self) -> None:
        assert self.endpoint, "attach() the inbox before the actor starts"
        self._poller = zmq.Poller()
        if self.context is not None:
            self._socket = self.context.socket(zmq.PULL)
            self._socket.setsockopt(zmq.LINGER, 0)
            self._socket.setsockopt(zmq.RCVHWM, 0)
            self._socket.bind(self.endpoint)
            self._poller.register(self._socket, zmq.POLLIN)
        self._poller.register(self._wake_r, zmq.POLLIN)
        for sock in self._watched:
            self._poller.register(sock, zmq.POLLIN)

    def watch(self, sock: zmq.Socket[Any], on_ready: Callable[[], None]) -> None:
        """Also wait on `sock` (owned by the actor's thread); call `on_ready` when readable."""
        self._watched[sock] = on_ready
        if self._poller is not None:
            self._poller.register(sock, zmq.POLLIN)

    def close(self) -> None:
        """Close the socket (from the owning thread); pykka envelopes still drain."""
        if self._socket is not None:
            self._socket.close(linger=0)
            self._socket = None
        with self._lock:
            self._closed = True
            for fd in (self._wake_r, self._wake_w):
                with contextlib.suppress(OSError):
                    os.close(fd)


class MessageActor(pykka.ThreadingActor):
    """A pykka actor that talks only in msgspec messages over the bridge."""

    address = "actor"

    def __init__(self, bridge: Transport) -> None:
        super().__init__()
        self.bridge = bridge
        self._outbox: Sender | None = None
        # why `started` failed: the actor then serves nothing but `started_ok`'s question,
        # which pykka's public `ask` carries back to whoever started it
        self._start_failure: BaseException | None = None
        assert isinstance(self.actor_inbox, SocketInbox)
        bridge.actor_inbox(self.address, self.actor_inbox)

    @staticmethod
    def _create_actor_inbox() -> SocketInbox:
        return SocketInbox()

    def on_start(self) -> None:
        try:
            self._outbox = self.bridge.outbox()  # created here: this socket lives in this thread
            self.started()
        except Exception as exc:  # kept for `started_ok`, which stops the actor
            self._start_failure = exc

    def started(self) -> None:
        """Hook: set-up that must run in the actor's own thread."""

    def on_stop(self) -> None:
        try:
            if self._start_failure is None:  # a failed start undid its own part (`started`)
                self.stopping()
        finally:
            self._close()

    def on_failure(self, exception_type: Any, exception_value: Any, traceback: Any) -> None:
        self._close()

    def _close(self) -> None:
        self.bridge.unregister(self.address)
        self.bridge.close_outbox()
        inbox = self.actor_inbox
        if isinstance(inbox, SocketInbox):
            inbox.close()

    def stopping(self) -> None:
        """Hook: tear-down in the actor's own thread."""

    def send(self, dest: str, message: msgspec.Struct) -> bool:
        """Send without blocking; False (logged) if `dest` is gone."""
        assert self._outbox is not None
        return self._outbox.send(dest, message)

    def inbox_waiting(self) -> bool:
        """True when another message waits for this actor (a long job may yield to it)."""
        assert isinstance(self.actor_inbox, SocketInbox)
        return self.actor_inbox.waiting()

    def on_idle(self, hook: Callable[[], float | None]) -> None:
        """Call `hook` whenever the inbox is empty; it returns how long to wait (s) or None."""
        assert isinstance(self.actor_inbox, SocketInbox)
        self.actor_inbox.idle = hook

    def watch(self, sock: zmq.Socket[Any], on_ready: Callable[[], None]) -> None:
        """Also wake for `sock` (made in this actor's thread), calling `on_ready`."""
        assert isinstance(self.actor_inbox, SocketInbox)
        self.actor_inbox.watch(sock, on_ready)

    def on_receive(self, message: Any) -> Any:
        if message is HOW_STARTED:
            return self._start_failure
        if self._start_failure is not None:
            return None  # it did not start: it serves nothing until it is stopped
        if not isinstance(message, bytes | bytearray | memoryview):
            return None  # pykka's own messages (ask/tell of Python objects) are not used
        try:
            decoded = message_decoder.decode(message)
        except msgspec.DecodeError as exc:
            log.warning("%s: dropped a message that does not decode: %s", self.address, exc)
            return None
        try:
            self.handle(decoded)
        except Exception:
            log.exception(
                "%s: failed handling %s; still serving", self.address, type(decoded).__name__
            )
        return None

    def handle(self, message: Message) -> None:
        raise NotImplementedError


HOW_STARTED = object()  # started_ok's question to an actor (through pykka's public `ask`)


def started_ok(ref: pykka.ActorRef[Any], timeout: float = 30) -> None:
    """Wait until the actor behind `ref` has run its `started`; if that failed, stop the
    actor and raise what failed it."""
    failure = ref.ask(HOW_STARTED, timeout=timeout)
    if isinstance(failure, BaseException):
        ref.stop(timeout=timeout)
        raise failure
