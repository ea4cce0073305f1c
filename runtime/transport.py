"""Moving messages between actors and clients over ZeroMQ.

One `Bridge` thread per process owns the shared sockets (ZeroMQ sockets are not thread-safe,
and pykka actors block on their own inboxes, so neither can poll the other):

    actor thread --Outbox(PUSH)--> inproc inbox(PULL) --+
                                                        |  Bridge thread: route by address
    remote client --DEALER--> ROUTER (commands) --------+--> local Mailbox.tell(payload)
    remote client --DEALER--> ROUTER (catch-up) --------+--> or ROUTER -> that client

Every message is one msgpack payload (a tagged Struct from schemas/messages.py), encoded once
by its sender and decoded once by its receiver. Frames: to the inbox `[dest, payload]`;
from a client on the command ROUTER `[dest, payload]` (ROUTER prepends the identity); on the
catch-up ROUTER just `[payload]` (the destination is the Context Bus). A reply to a client
is addressed to its socket identity, which the client also puts in `reply_to`.

Usage:

    bridge = Bridge(zmq.Context.instance())
    bridge.register("echo", mailbox)      # anything with .tell(bytes)
    bridge.start()
    bridge.outbox().send("echo", Shutdown(reason="hi"))
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import queue
import threading
import uuid
from typing import Any, Protocol
from urllib.parse import urlparse

import msgspec
import zmq

from weboter.runtime.errors import TransportError
from weboter.schemas.context import ErrorContext
from weboter.schemas.messages import CommandRejected, Message

log = logging.getLogger(__name__)

_encoder = msgspec.msgpack.Encoder()
message_decoder = msgspec.msgpack.Decoder(Message)

BUS = "bus"  # the Context Bus's address: catch-up requests go there


class Mailbox(Protocol):
    """Where the bridge delivers a payload: a pykka ActorRef, or a QueueMailbox."""

    def tell(self, message: Any) -> None: ...


class QueueMailbox:
    """A mailbox for a non-actor thread (the CLI, tests): payloads land in a queue."""

    def __init__(self) -> None:
        self.queue: queue.Queue[bytes] = queue.Queue()

    def tell(self, message: Any) -> None:
        self.queue.put(message)

    def get(self, timeout: float | None = None) -> Message:
        return message_decoder.decode(self.queue.get(timeout=timeout))


def encode(message: msgspec.Struct) -> bytes:
    return _encoder.encode(message)


def is_loopback(endpoint: str) -> bool:
    """True for inproc://, ipc:// and tcp:// on a loopback address."""
    parsed = urlparse(endpoint)
    if parsed.scheme in ("inproc", "ipc"):
        return True
    host = (parsed.hostname or "").strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_bindable(endpoint: str, *, curve: bool) -> None:
    """Refuse to listen beyond loopback without CURVE authentication (DESIGN §4)."""
    if not is_loopback(endpoint) and not curve:
        raise TransportError(
            f"refusing to listen on {endpoint} without authentication",
            hint="bind to 127.0.0.1, or configure CURVE keys (server key + allowed client keys)",
        )


class Outbox:
    """A sending end for one thread: a PUSH socket connected to the bridge's inbox."""

    def __init__(self, context: zmq.Context[Any], endpoint: str) -> None:
        self._socket = context.socket(zmq.PUSH)
        self._socket.setsockopt(zmq.LINGER, 1000)
        self._socket.connect(endpoint)

    def send(self, dest: str, message: msgspec.Struct) -> None:
        self._socket.send_multipart([dest.encode(), _encoder.encode(message)], copy=False)

    def send_raw(self, dest: str, payload: bytes) -> None:
        self._socket.send_multipart([dest.encode(), payload], copy=False)

    def close(self) -> None:
        self._socket.close()


class Bridge:
    """The per-process router between local mailboxes, local senders and remote clients."""

    def __init__(
        self,
        context: zmq.Context[Any] | None = None,
        *,
        command_endpoint: str | None = None,
        catchup_endpoint: str | None = None,
    ) -> None:
        self.context = context or zmq.Context.instance()
        self.inbox_endpoint = f"inproc://weboter-bridge-{uuid.uuid4().hex}"
        self._control_endpoint = f"inproc://weboter-bridge-ctl-{uuid.uuid4().hex}"
        self.command_endpoint = command_endpoint
        self.catchup_endpoint = catchup_endpoint
        self._local: dict[str, Mailbox] = {}
        self._peers: dict[bytes, zmq.Socket[Any]] = {}
        self._outboxes = threading.local()
        self._all_outboxes: list[Outbox] = []
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self.bound: dict[str, str] = {}

    # --- set-up ----------------------------------------------------------------------------

    def register(self, address: str, mailbox: Mailbox) -> None:
        with self._lock:
            self._local[address] = mailbox

    def unregister(self, address: str) -> None:
        with self._lock:
            self._local.pop(address, None)

    def outbox(self) -> Outbox:
        """This thread's Outbox (created on first use; sockets never cross threads)."""
        found: Outbox | None = getattr(self._outboxes, "outbox", None)
        if found is None:
            found = Outbox(self.context, self.inbox_endpoint)
            self._outboxes.outbox = found
            with self._lock:
                self._all_outboxes.append(found)
        return found

    def close_outbox(self) -> None:
        """Close this thread's Outbox (call from the thread that used it)."""
        found: Outbox | None = getattr(self._outboxes, "outbox", None)
        if found is not None:
            found.close()
            self._outboxes.outbox = None
            with self._lock:
                self._all_outboxes.remove(found)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="weboter-bridge", daemon=True)
        self._thread.start()
        self._ready.wait(10)
        if self._error is not None:
            raise TransportError(f"the bridge could not start: {self._error}") from self._error

    def stop(self) -> None:
        if self._thread is None:
            return
        control = self.context.socket(zmq.PAIR)
        control.connect(self._control_endpoint)
        control.send(b"stop")
        control.close()
        self._thread.join(10)
        self._thread = None

    # --- the loop --------------------------------------------------------------------------

    def _run(self) -> None:
        sockets: list[zmq.Socket[Any]] = []
        try:
            inbox = self.context.socket(zmq.PULL)
            inbox.bind(self.inbox_endpoint)
            control = self.context.socket(zmq.PAIR)
            control.bind(self._control_endpoint)
            sockets += [inbox, control]
            routers: dict[zmq.Socket[Any], str | None] = {}
            for endpoint, default_dest in (
                (self.command_endpoint, None),
                (self.catchup_endpoint, BUS),
            ):
                if endpoint:
                    check_bindable(endpoint, curve=False)
                    router = self.context.socket(zmq.ROUTER)
                    router.setsockopt(zmq.LINGER, 0)
                    router.setsockopt(zmq.ROUTER_MANDATORY, 1)
                    router.bind(endpoint)
                    self.bound[endpoint] = str(router.getsockopt_string(zmq.LAST_ENDPOINT))
                    routers[router] = default_dest
                    sockets.append(router)
        except BaseException as exc:  # reported to start()
            self._error = exc
            self._ready.set()
            for s in sockets:
                s.close(linger=0)
            return
        self._ready.set()
        poller = zmq.Poller()
        for s in sockets:
            poller.register(s, zmq.POLLIN)
        try:
            while True:
                for sock, _ in poller.poll():
                    if sock is control:
                        return
                    if sock is inbox:
                        self._from_inbox(inbox)
                    else:
                        self._from_router(sock, routers[sock])
        finally:
            for s in sockets:
                s.close(linger=0)

    def _from_inbox(self, inbox: zmq.Socket[Any]) -> None:
        while True:
            try:
                frames = inbox.recv_multipart(zmq.NOBLOCK)
            except zmq.Again:
                return
            if len(frames) != 2:
                log.warning("bridge: dropped a local message with %d frames (need 2)", len(frames))
                continue
            self._deliver(frames[0], frames[1])

    def _deliver(self, dest: bytes, payload: bytes) -> None:
        mailbox = self._local.get(dest.decode(errors="replace"))
        if mailbox is not None:
            mailbox.tell(payload)
            return
        peer = self._peers.get(dest)
        if peer is not None:
            try:
                peer.send_multipart([dest, payload], zmq.NOBLOCK)
            except zmq.ZMQError as exc:  # the client went away: forget it, keep serving
                log.info("bridge: client %r is gone (%s)", dest, exc)
                self._peers.pop(dest, None)
            return
        log.warning("bridge: no destination %r; message dropped", dest)

    def _from_router(self, router: zmq.Socket[Any], default_dest: str | None) -> None:
        frames = router.recv_multipart()
        identity, rest = frames[0], frames[1:]
        self._peers[identity] = router
        if default_dest is not None and len(rest) == 1:
            dest, payload = default_dest.encode(), rest[0]
        elif default_dest is None and len(rest) == 2:
            dest, payload = rest[0], rest[1]
        else:
            self._reject(
                router,
                identity,
                f"expected {'[payload]' if default_dest else '[dest, payload]'}"
                f" after the identity, got {len(rest)} frame(s)",
            )
            return
        if dest.decode(errors="replace") not in self._local:
            self._reject(router, identity, f"no actor {dest.decode(errors='replace')!r} here")
            return
        self._deliver(dest, payload)

    def _reject(self, router: zmq.Socket[Any], identity: bytes, why: str) -> None:
        error = ErrorContext(
            kind="TransportError",
            message=f"bad message: {why}",
            hint="see docs/protocol.md for the frame layout",
        )
        with contextlib.suppress(zmq.ZMQError):
            router.send_multipart([identity, encode(CommandRejected(command_id="", error=error))])
