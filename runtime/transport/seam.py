"""The transport seam: what actors, engines and clients need from a transport, and no more.
Three implementations: `Bridge` (ZeroMQ: inproc inside a process, ipc/tcp to others;
runtime/transport/bridge.py), `MemoryBridge` (one process, no sockets; the tests of actors;
runtime/transport/memory.py) and a worker's `Link` (runtime/transport/link.py).

Which client may act on which run is not the transport's to know: a `Bridge` asks an
`Authorizer` (the engine's `RunOwners`, runtime/engine/owners.py, reads run owners from the log)."""

from __future__ import annotations

from typing import Any, Protocol

import msgspec
import zmq

from weboter.schemas.messages import Message


class Sender(Protocol):
    """One thread's sending end. A send never blocks: False means dropped (logged)."""

    def send(self, dest: str, message: msgspec.Struct) -> bool: ...

    def send_raw(self, dest: str, payload: bytes) -> bool: ...

    def forget(self, dest: str) -> None: ...

    def close(self) -> None: ...


class Receiver(Protocol):
    """A client thread's inbox."""

    def get(self, timeout: float | None = None) -> Message: ...

    def close(self) -> None: ...


class Inbox(Protocol):
    """An actor's inbox, as a transport feeds it (runtime/transport/actor.py: SocketInbox)."""

    def attach(self, context: zmq.Context[Any] | None, endpoint: str) -> None: ...

    def deliver(self, payload: bytes) -> None: ...


class Authorizer(Protocol):
    """Says whether an authenticated client may send a message (about a run)."""

    def refusal(self, client: str, message: object) -> str | None: ...

    def close(self) -> None: ...


class Transport(Protocol):
    def register(self, address: str) -> None: ...

    def unregister(self, address: str) -> None: ...

    def actor_inbox(self, address: str, inbox: Inbox) -> None: ...

    def mailbox(self, address: str) -> Receiver: ...

    def outbox(self) -> Sender: ...

    def close_outbox(self) -> None: ...

    def start(self) -> None: ...

    def stop(self) -> None: ...
