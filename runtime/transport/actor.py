"""What every actor shares: its sockets, decoding what arrives, sending through this thread's
Outbox, and surviving a bad message (log it, keep serving).

Each actor is a pykka `ThreadingActor` used through pykka's public API only. Messages from
other actors come over ZeroMQ (an inproc PULL socket; a worker's link delivers into the same
inbox in memory), not through pykka's queue: a thread that owned the socket and handed each
message on with `ActorRef.tell` would add a thread wake-up per hop (`bench/actor_hop.py`
measures both). So the actor takes *turns at its sockets*: `on_start` tells the actor `_TURN`;
a turn receives and handles socket messages for as long as pykka's own inbox
(`Actor.actor_inbox`) is empty, then tells itself `_TURN` again and returns, so pykka's loop
runs what was told or asked meanwhile (stop, `started_ok`'s question) in order. A turn waits on
its sockets at most `MAX_WAIT` seconds at a time, and `wake(ref)` ends the wait at once: this
module's `stop_actor` and `started_ok` wake the actor they ask; anyone else's `tell` or `ask`
is seen within `MAX_WAIT`.
"""

from __future__ import annotations

import collections
import contextlib
import logging
import os
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
MAX_WAIT = 0.1  # seconds a turn waits on the sockets before it looks at pykka's inbox again


class SocketInbox:
    """An actor's messages from other actors: a ZeroMQ PULL socket, and `deliver` (the
    in-memory transports, from any thread, signalled through a pipe); plus sockets the actor
    watches and its idle hook."""

    def __init__(self) -> None:
        self.context: zmq.Context[Any] | None = None
        self.endpoint = ""
        self._local: collections.deque[bytes] = collections.deque()
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        os.set_blocking(self._wake_w, False)  # a full pipe already wakes: never block a sender
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
        """A message from an in-memory transport (any thread)."""
        self._local.append(payload)
        self.wake()

    def wake(self) -> None:
        """End the owner's wait on its sockets (any thread)."""
        with self._lock:  # never write to the pipe once `close` gave its descriptor back
            if not self._closed:
                with contextlib.suppress(OSError):
                    os.write(self._wake_w, b"\0")

    def waiting(self) -> bool:
        """True when a message waits: cheap, never blocks."""
        if self._local:
            return True
        if self._socket is None:
            return False
        ready: int = self._socket.getsockopt(_EVENTS)  # type: ignore[assignment]
        return bool(ready & _POLLIN)  # ints, not zmq's enums: cheaper

    def receive(self) -> bytes | None:
        """The next message, or None after a wait of at most MAX_WAIT (a watched socket was
        served, the idle hook ran, or something woke the owner): ask again."""
        if self._local:
            return self._local.popleft()
        if self._poller is None:
            self._open()
        assert self._poller is not None
        if self._socket is not None:
            ready: int = self._socket.getsockopt(_EVENTS)  # type: ignore[assignment]
            if ready & _POLLIN:
                return self._socket.recv()
        wait = self.idle() if self.idle is not None else None
        wait = MAX_WAIT if wait is None else min(wait, MAX_WAIT)
        events = dict(self._poller.poll(max(int(wait * 1000), 1)))
        for sock, on_ready in self._watched.items():
            if sock in events:
                on_ready()
        if self._wake_r in events:
            with contextlib.suppress(BlockingIOError):
                os.read(self._wake_r, 4096)
        return None

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
        """Close the socket (from the owning thread)."""
        if self._socket is not None:
            self._socket.close(linger=0)
            self._socket = None
        with self._lock:
            self._closed = True
            for fd in (self._wake_r, self._wake_w):
                with contextlib.suppress(OSError):
                    os.close(fd)


_TURN = object()  # an actor's turn at its sockets, told to itself
HOW_STARTED = object()  # started_ok's question to an actor (through pykka's public `ask`)
_inboxes: dict[str, SocketInbox] = {}  # actor_urn -> its inbox, for `wake`
_inboxes_lock = threading.Lock()


def wake(ref: pykka.ActorRef[Any]) -> None:
    """End the wait of the actor behind `ref` on its sockets, so that it sees at once what
    was just told or asked through pykka."""
    with _inboxes_lock:
        inbox = _inboxes.get(ref.actor_urn)
    if inbox is not None:
        inbox.wake()


def stop_actor(ref: pykka.ActorRef[Any], timeout: float | None = None) -> bool:
    """pykka's `ActorRef.stop`, the actor woken for it: False if it was already dead."""
    stopped = ref.stop(block=False)
    wake(ref)
    return stopped.get(timeout=timeout)


def started_ok(ref: pykka.ActorRef[Any], timeout: float = 30) -> None:
    """Wait until the actor behind `ref` has run its `started`; if that failed, stop the
    actor and raise what failed it."""
    answer = ref.ask(HOW_STARTED, block=False)
    wake(ref)
    failure = answer.get(timeout=timeout)
    if isinstance(failure, BaseException):
        stop_actor(ref, timeout=timeout)
        raise failure


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
        self.inbox = SocketInbox()
        bridge.actor_inbox(self.address, self.inbox)
        with _inboxes_lock:
            _inboxes[self.actor_urn] = self.inbox

    def on_start(self) -> None:
        try:
            self._outbox = self.bridge.outbox()  # created here: this socket lives in this thread
            self.started()
        except Exception as exc:  # kept for `started_ok`, which stops the actor
            self._start_failure = exc
            return
        self.actor_ref.tell(_TURN)

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
        with _inboxes_lock:
            _inboxes.pop(self.actor_urn, None)
        self.inbox.close()

    def stopping(self) -> None:
        """Hook: tear-down in the actor's own thread."""

    def send(self, dest: str, message: msgspec.Struct) -> bool:
        """Send without blocking; False (logged) if `dest` is gone."""
        assert self._outbox is not None
        return self._outbox.send(dest, message)

    def inbox_waiting(self) -> bool:
        """True when another message waits for this actor (a long job may yield to it)."""
        return self.inbox.waiting() or not self.actor_inbox.empty()

    def on_idle(self, hook: Callable[[], float | None]) -> None:
        """Call `hook` whenever the inbox is empty; it returns how long to wait (s) or None."""
        self.inbox.idle = hook

    def watch(self, sock: zmq.Socket[Any], on_ready: Callable[[], None]) -> None:
        """Also wake for `sock` (made in this actor's thread), calling `on_ready`."""
        self.inbox.watch(sock, on_ready)

    def on_receive(self, message: Any) -> Any:
        if message is _TURN:
            self._turn()
            return None
        if message is HOW_STARTED:
            return self._start_failure
        return None  # nothing else is told through pykka

    def _turn(self) -> None:
        """Serve the sockets while pykka's inbox is empty; then give pykka's loop its turn."""
        pykka_inbox, inbox = self.actor_inbox, self.inbox
        while pykka_inbox.empty():
            message = inbox.receive()
            if message is not None:
                self.receive(message)
        self.actor_ref.tell(_TURN)

    def receive(self, message: bytes) -> None:
        """One message from another actor: decoded and handled (a failure logged, never
        raised: the actor keeps serving)."""
        try:
            decoded = message_decoder.decode(message)
        except msgspec.DecodeError as exc:
            log.warning("%s: dropped a message that does not decode: %s", self.address, exc)
            return
        try:
            self.handle(decoded)
        except Exception:
            log.exception(
                "%s: failed handling %s; still serving", self.address, type(decoded).__name__
            )

    def handle(self, message: Message) -> None:
        raise NotImplementedError
