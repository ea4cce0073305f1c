"""Moving messages between actors and clients over ZeroMQ.

Every local address (an actor, or a client thread) has an inbox: a PULL socket bound at
`inproc://weboter-<bridge>/<address>` by the thread that owns it. A sender's `Outbox` keeps one
PUSH socket per destination, so a message between two actors of one process is a single
inproc hop straight into the receiver's inbox — no thread in between, nothing re-encoded.

Each actor receives on its own PULL socket (`SocketInbox`, runtime/transport/actor.py), in
turns that give way to pykka's own inbox (stop, ask) as soon as something is put there.

A send never blocks: to an address that is not (or no longer) registered, or whose inbox is
gone, the message is dropped with a log line (`Outbox.send_raw`).

The per-process `Bridge` thread owns the sockets that face other processes:

    remote client --DEALER--> ROUTER (commands)  --+
    remote client --DEALER--> ROUTER (catch-up)  --+--> Bridge thread --PUSH--> local inbox
    actor --Outbox--> bridge PULL [dest, payload] -+--> ROUTER --> that client

Frames: a local inbox gets `[payload]`; the bridge's PULL gets `[dest, payload]` (messages for
addresses that are not local); a client on the command ROUTER sends `[dest, payload]` (ROUTER
prepends its identity), on the catch-up ROUTER just `[payload]` (for the Context Bus). A reply
to a remote client is addressed to its socket identity, which it also puts in `reply_to`.
Payloads are msgpack of a tagged Struct (schemas/messages.py), encoded once by the sender.
ZeroMQ sockets are not thread-safe: every socket here is used by the thread that made it.

    bridge = Bridge(zmq.Context())
    bridge.start()
    inbox = bridge.mailbox("me")              # in the receiving thread
    bridge.outbox().send("me", Shutdown(reason="hi"))
    inbox.get(timeout=1)
"""

from __future__ import annotations

import contextlib
import errno
import ipaddress
import logging
import queue
import threading
import uuid
from typing import Any
from urllib.parse import urlparse

import msgspec
import zmq

from weboter.runtime.errors import TransportError
from weboter.runtime.transport.addresses import BUS
from weboter.runtime.transport.gate import admit
from weboter.runtime.transport.peers import PEERS_KEPT, Bounded, Refusals, named, shown
from weboter.runtime.transport.seam import Authorizer, Inbox
from weboter.runtime.transport.security import CurveConfig
from weboter.schemas.context import ErrorContext
from weboter.schemas.messages import CommandRejected, Message

log = logging.getLogger(__name__)

_encoder = msgspec.msgpack.Encoder()
message_decoder = msgspec.msgpack.Decoder(Message)


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
    """Refuse to listen beyond loopback without CURVE authentication (docs/protocol.md)."""
    if not is_loopback(endpoint) and not curve:
        raise TransportError(
            f"refusing to listen on {endpoint} without authentication",
            hint="bind to 127.0.0.1, or configure CURVE keys (server key + allowed client keys)",
        )


def bind(sock: zmq.Socket[Any], endpoint: str) -> str:
    """Bind `sock` to `endpoint` and return the address it got; a taken port says so."""
    try:
        sock.bind(endpoint)
    except zmq.ZMQError as exc:
        if exc.errno != errno.EADDRINUSE:
            raise
        raise TransportError(
            f"{endpoint} is already in use by another program",
            hint="stop that program, or choose other ports (`weboter serve --bind` takes the "
            "given port and the next two; with --workers, the next three)",
        ) from exc
    return str(sock.getsockopt_string(zmq.LAST_ENDPOINT))


class Mailbox:
    """An inbox for a thread that is not an actor (the CLI, a test): bind, then `get`."""

    def __init__(self, context: zmq.Context[Any], endpoint: str) -> None:
        self._socket = context.socket(zmq.PULL)
        self._socket.setsockopt(zmq.LINGER, 0)
        self._socket.bind(endpoint)

    def get(self, timeout: float | None = None) -> Message:
        """The next message; queue.Empty after `timeout` seconds (None: wait for ever)."""
        if timeout is not None and not self._socket.poll(max(int(timeout * 1000), 0)):
            raise queue.Empty
        return message_decoder.decode(self._socket.recv())

    def close(self) -> None:
        self._socket.close(linger=0)


class Outbox:
    """One thread's sending end: a PUSH socket per local destination, and one to the bridge
    for everything else (remote clients)."""

    def __init__(self, bridge: Bridge) -> None:
        self._bridge = bridge
        self._sockets: dict[str, zmq.Socket[Any]] = {}
        self._remote: zmq.Socket[Any] | None = None

    def _push(self, endpoint: str) -> zmq.Socket[Any]:
        socket = self._bridge.context.socket(zmq.PUSH)
        socket.setsockopt(zmq.LINGER, 1000)
        socket.setsockopt(zmq.SNDHWM, 0)  # never block or drop: inboxes are drained promptly
        socket.connect(endpoint)
        return socket

    def send(self, dest: str, message: msgspec.Struct) -> bool:
        return self.send_raw(dest, _encoder.encode(message))

    def send_raw(self, dest: str, payload: bytes) -> bool:
        """Send without ever blocking; False (and a log line) if `dest` cannot take it: an
        actor that stopped, a client that left, a bridge that is gone."""
        try:
            if dest in self._bridge.local:
                socket = self._sockets.get(dest)
                if socket is None:
                    socket = self._sockets[dest] = self._push(self._bridge.endpoint(dest))
                socket.send(payload, zmq.NOBLOCK)
                return True
            self.forget(dest)  # it was local once: it stopped
            if self._remote is None:
                self._remote = self._push(self._bridge.inbox_endpoint)
            self._remote.send_multipart([dest.encode(), payload], zmq.NOBLOCK)
            return True
        except zmq.Again:
            log.warning("transport: %s cannot take a message now (gone?); dropped", dest)
        except zmq.ZMQError as exc:
            log.warning("transport: sending to %s failed (%s); dropped", dest, exc)
        return False

    def forget(self, dest: str) -> None:
        socket = self._sockets.pop(dest, None)
        if socket is not None:
            socket.close(linger=0)

    def close(self) -> None:
        for socket in self._sockets.values():
            socket.close()
        self._sockets.clear()
        if self._remote is not None:
            self._remote.close()


class Bridge:
    """The per-process directory of local addresses, and the thread for remote clients."""

    def __init__(
        self,
        context: zmq.Context[Any] | None = None,
        *,
        command_endpoint: str | None = None,
        catchup_endpoint: str | None = None,
        curve: CurveConfig | None = None,
        owners: Authorizer | None = None,
    ) -> None:
        self.context = context or zmq.Context.instance()
        self.curve = curve
        self.owners = owners  # which client may act on which run (CURVE keys)
        self.name = uuid.uuid4().hex[:12]
        self.inbox_endpoint = f"inproc://weboter-{self.name}/.bridge"
        self._control_endpoint = f"inproc://weboter-{self.name}/.control"
        self.command_endpoint = command_endpoint
        self.catchup_endpoint = catchup_endpoint
        self.local: set[str] = set()
        # socket identity -> its ROUTER, and -> the client key that used it: bounded, the
        # oldest forgotten first, so a stream of new identities (a fuzzer) cannot grow them
        self._peers: Bounded[zmq.Socket[Any]] = Bounded(PEERS_KEPT)
        self._identities: Bounded[str] = Bounded(PEERS_KEPT)
        self._refusals = Refusals(log)
        self._outboxes = threading.local()
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self.bound: dict[str, str] = {}

    # --- the directory ---------------------------------------------------------------------

    def endpoint(self, address: str) -> str:
        return f"inproc://weboter-{self.name}/{address}"

    def register(self, address: str) -> None:
        self.local.add(address)

    def unregister(self, address: str) -> None:
        self.local.discard(address)

    def actor_inbox(self, address: str, inbox: Inbox) -> None:
        """Give an actor's inbox (a SocketInbox) its endpoint and make its address local."""
        inbox.attach(self.context, self.endpoint(address))
        self.register(address)

    def mailbox(self, address: str) -> Mailbox:
        """A Mailbox for the calling (non-actor) thread at `address`."""
        box = Mailbox(self.context, self.endpoint(address))
        self.register(address)
        return box

    def outbox(self) -> Outbox:
        """This thread's Outbox (created on first use; sockets never cross threads)."""
        found: Outbox | None = getattr(self._outboxes, "outbox", None)
        if found is None:
            found = Outbox(self)
            self._outboxes.outbox = found
        return found

    def close_outbox(self) -> None:
        """Close this thread's Outbox (call from the thread that used it)."""
        found: Outbox | None = getattr(self._outboxes, "outbox", None)
        if found is not None:
            found.close()
            self._outboxes.outbox = None

    # --- the thread ------------------------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="weboter-bridge", daemon=True)
        self._thread.start()
        self._ready.wait(10)
        if self._error is not None:
            if isinstance(self._error, TransportError):
                raise self._error
            raise TransportError(f"the bridge could not start: {self._error}") from self._error

    def stop(self) -> None:
        if self._thread is None:
            return
        if self._thread.is_alive():  # one that failed to start has nothing bound to tell
            control = self.context.socket(zmq.PAIR)
            control.setsockopt(zmq.LINGER, 0)
            control.connect(self._control_endpoint)
            control.send(b"stop")
            self._thread.join(10)
            control.close()
        self._thread = None

    def _run(self) -> None:
        sockets: list[zmq.Socket[Any]] = []
        routers: dict[zmq.Socket[Any], str | None] = {}
        try:
            inbox = self.context.socket(zmq.PULL)
            inbox.bind(self.inbox_endpoint)
            control = self.context.socket(zmq.PAIR)
            control.bind(self._control_endpoint)
            sockets += [inbox, control]
            for endpoint, default_dest in (
                (self.command_endpoint, None),
                (self.catchup_endpoint, BUS),
            ):
                if endpoint:
                    check_bindable(endpoint, curve=self.curve is not None)
                    router = self.context.socket(zmq.ROUTER)
                    sockets.append(router)  # closed below if it cannot bind
                    if self.curve is not None:
                        self.curve.serve(router)
                    router.setsockopt(zmq.LINGER, 0)
                    router.setsockopt(zmq.ROUTER_MANDATORY, 1)
                    self.bound[endpoint] = bind(router, endpoint)
                    routers[router] = default_dest
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
                    try:
                        if sock is inbox:
                            self._to_remote(inbox)
                        else:
                            self._from_router(sock, routers[sock])
                    except Exception:  # one bad message never stops the bridge
                        log.exception("bridge: a message could not be handled; dropped")
        finally:
            self.close_outbox()
            if self.owners is not None:
                self.owners.close()
            for s in sockets:
                s.close(linger=0)

    def _to_remote(self, inbox: zmq.Socket[Any]) -> None:
        frames = inbox.recv_multipart()
        if len(frames) != 2:
            log.warning("bridge: dropped a message with %d frames (need 2)", len(frames))
            return
        dest, payload = frames
        peer = self._peers.get(dest)
        if peer is None:
            # a client that went away (one that sent a command and closed, as the UI's and
            # the MCP server's fire-and-forget drives do) is normal, not a fault
            log.info("bridge: no destination %s; message dropped", shown(dest))
            return
        try:
            peer.send_multipart([dest, payload], zmq.NOBLOCK)
        except zmq.ZMQError as exc:  # the client went away: forget it, keep serving
            log.info("bridge: client %s is gone (%s)", shown(dest), exc)
            self._peers.pop(dest, None)

    def _from_router(self, router: zmq.Socket[Any], default_dest: str | None) -> None:
        parts = router.recv_multipart(copy=False)
        client = _client_key(parts[0])
        frames = [part.bytes for part in parts]
        identity, rest = frames[0], frames[1:]
        self._peers[identity] = router
        if default_dest is not None and len(rest) == 1:
            dest, payload = default_dest, rest[0]
        elif default_dest is None and len(rest) == 2:
            dest, payload = rest[0].decode(errors="replace"), rest[1]
        else:
            need = "[payload]" if default_dest else "[dest, payload]"
            self._reject(
                router, identity, f"expected {need} after the identity, got {len(rest)} frame(s)"
            )
            return
        if dest not in self.local:
            self._reject(router, identity, f"no actor {dest!r} here", payload)
            return
        if self._identities.setdefault(identity, client) != client:  # replies go by identity
            self._reject(
                router,
                identity,
                "this socket identity belongs to another client: use your own",
                payload,
            )
            return
        try:
            who = identity.decode(errors="surrogateescape")  # shown() gives the bytes back
            admitted, why = admit(dest, payload, who, client, self.owners)
        except Exception as exc:  # e.g. nested too deep to decode: refused, not fatal
            admitted, why = None, f"the message cannot be read ({type(exc).__name__})"
        if admitted is None:
            self._reject(router, identity, why or "refused", payload)
            return
        self.outbox().send_raw(dest, admitted)

    def _reject(
        self, router: zmq.Socket[Any], identity: bytes, why: str, payload: bytes = b""
    ) -> None:
        """Answer a refused message with why, and the command id and run it named (if any);
        log it (rate-limited)."""
        self._refusals.refused(identity, why)
        error = ErrorContext(
            kind="TransportError",
            message=f"bad message: {why}",
            hint="see docs/protocol.md for the frame layout and what a client may send",
        )
        command_id, run_id = named(payload)
        refusal = CommandRejected(command_id=command_id, run_id=run_id, error=error)
        with contextlib.suppress(zmq.ZMQError):
            router.send_multipart([identity, encode(refusal)])


def _client_key(frame: zmq.Frame) -> str:
    """The CURVE key (Z85) the sender authenticated with, as ZAP reported it; "" without."""
    try:
        return str(frame.get("User-Id") or "")
    except zmq.ZMQError:
        return ""
