"""The transport seam: what actors, engines and clients need from a transport. Two
implementations: `Bridge` (ZeroMQ: inproc inside a process, ipc/tcp to others;
runtime/transport/bridge.py) and `MemoryBridge` (one process, no sockets; used by the tests
of actors; runtime/transport/memory.py)."""

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


class Transport(Protocol):
    context: zmq.Context[Any]  # the public event stream is ZeroMQ either way
    local: set[str]
    bound: dict[str, str]

    def register(self, address: str) -> None: ...

    def unregister(self, address: str) -> None: ...

    def actor_inbox(self, address: str, inbox: Any) -> None: ...

    def mailbox(self, address: str) -> Receiver: ...

    def outbox(self) -> Sender: ...

    def close_outbox(self) -> None: ...

    def start(self) -> None: ...

    def stop(self) -> None: ...
