"""The in-memory transport: the same surface as the ZeroMQ `Bridge` (runtime/transport/seam.py),
for actors that all live in one process — the tests of actors use it.

A send hands the encoded message straight to the receiver's inbox (an actor's `SocketInbox`
in memory mode, or a `MemoryMailbox` for a client thread): no socket, no thread in between.
Messages are still encoded and decoded, so actors see exactly what they see over ZeroMQ. The
public event stream stays a ZeroMQ PUB socket (`context`), since outside tools read it.
There are no remote endpoints: an engine that must listen uses the ZeroMQ bridge.
"""

from __future__ import annotations

import logging
import queue
from typing import Any

import msgspec
import zmq

from weboter.runtime.transport.bridge import encode, message_decoder
from weboter.runtime.transport.seam import Inbox
from weboter.schemas.messages import Message

log = logging.getLogger(__name__)


class MemoryMailbox:
    """A client thread's inbox: `get` the next message."""

    def __init__(self) -> None:
        self._queue: queue.SimpleQueue[bytes] = queue.SimpleQueue()

    def deliver(self, payload: bytes) -> None:
        self._queue.put(payload)

    def get(self, timeout: float | None = None) -> Message:
        """The next message; queue.Empty after `timeout` seconds (None: wait for ever)."""
        return message_decoder.decode(self._queue.get(timeout=timeout))

    def close(self) -> None:
        """Nothing to release."""


class MemoryOutbox:
    def __init__(self, bridge: MemoryBridge) -> None:
        self._bridge = bridge

    def send(self, dest: str, message: msgspec.Struct) -> bool:
        return self.send_raw(dest, encode(message))

    def send_raw(self, dest: str, payload: bytes) -> bool:
        """Never blocks; False (and a log line) if nobody is at `dest`."""
        target = self._bridge.inboxes.get(dest)
        if target is None:
            log.warning("transport: nobody at %s; message dropped", dest)
            return False
        target.deliver(payload)
        return True

    def forget(self, dest: str) -> None:
        """Nothing is kept per destination."""

    def close(self) -> None:
        """Nothing to release."""


class MemoryBridge:
    """Local addresses and their inboxes, in memory."""

    def __init__(self, context: zmq.Context[Any] | None = None) -> None:
        self.context = context or zmq.Context.instance()
        self.inboxes: dict[str, Any] = {}
        self.local: set[str] = set()
        self.bound: dict[str, str] = {}

    def endpoint(self, address: str) -> str:
        return f"memory://{address}"

    def register(self, address: str) -> None:
        self.local.add(address)

    def unregister(self, address: str) -> None:
        self.local.discard(address)
        self.inboxes.pop(address, None)

    def actor_inbox(self, address: str, inbox: Inbox) -> None:
        inbox.attach(None, self.endpoint(address))  # memory mode: no socket
        self.inboxes[address] = inbox
        self.register(address)

    def mailbox(self, address: str) -> MemoryMailbox:
        box = MemoryMailbox()
        self.inboxes[address] = box
        self.register(address)
        return box

    def outbox(self) -> MemoryOutbox:
        return MemoryOutbox(self)

    def close_outbox(self) -> None:
        """Outboxes hold nothing."""

    def start(self) -> None:
        """Nothing runs in the background."""

    def stop(self) -> None:
        self.inboxes.clear()
        self.local.clear()
