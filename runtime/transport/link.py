"""The transport of a worker process (`weboter worker`): its one actor, a Node Runner, gets
messages from the engine's broker and sends everything it says back to the broker, whatever
the address (the state manager, a client that asked to look at a page).

The worker's loop (runtime/engine/worker.py) owns the socket to the broker; the runner's
threads hand their messages over through a queue and a wake-up pipe (`outgoing`), never
touching the socket. Artifacts the runner stores (screenshots, page state) are kept in a local
cache and go to the engine just before the message that names them (`UploadingStore`).
"""

from __future__ import annotations

import contextlib
import os
import queue
import threading
from pathlib import Path
from typing import Any

import msgspec
import zmq

from weboter.runtime.store.artifacts import ArtifactStore
from weboter.runtime.transport.bridge import encode
from weboter.runtime.transport.seam import Inbox


class UploadingStore(ArtifactStore):
    """A worker's artifact cache: what the runner stores is also queued for the engine."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self._fresh: list[str] = []
        self._lock = threading.Lock()

    def put(self, data: bytes, suffix: str = "") -> str:
        address = super().put(data, suffix)
        with self._lock:
            self._fresh.append(address)
        return address

    def shown(self, address: str) -> str:
        """It is read where the engine keeps it, not in this cache."""
        return f"artifacts/{address[:2]}/{address} beside the engine's log"

    def keep(self, address: str, data: bytes) -> None:
        """An artifact from the engine (a run's stored page state): cached, not sent back."""
        super().put(data, address[64:])

    def fresh(self) -> list[tuple[str, bytes]]:
        """The artifacts stored since the last call, with their bytes (to upload)."""
        with self._lock:
            fresh, self._fresh = self._fresh, []
        return [(address, self.get(address)) for address in dict.fromkeys(fresh)]


class _LinkOutbox:
    def __init__(self, link: WorkerLink) -> None:
        self._link = link

    def send(self, dest: str, message: msgspec.Struct) -> bool:
        return self.send_raw(dest, encode(message))

    def send_raw(self, dest: str, payload: bytes) -> bool:
        """Queued for the connection to the engine: never dropped here (True)."""
        self._link.outgoing.put((dest, payload))
        self._link.wake()
        return True

    def forget(self, dest: str) -> None:
        """Nothing is kept per destination."""

    def close(self) -> None:
        """Nothing to release."""


class WorkerLink:
    """The transport seam (runtime/transport/seam.py) of a worker process."""

    def __init__(self, context: zmq.Context[Any]) -> None:
        self.context = context
        self.local: set[str] = set()
        self.bound: dict[str, str] = {}
        self.inboxes: dict[str, Any] = {}
        self.outgoing: queue.SimpleQueue[tuple[str, bytes]] = queue.SimpleQueue()
        self.wake_r, self._wake_w = os.pipe()
        os.set_blocking(self.wake_r, False)
        os.set_blocking(self._wake_w, False)

    def register(self, address: str) -> None:
        self.local.add(address)

    def unregister(self, address: str) -> None:
        self.local.discard(address)
        self.inboxes.pop(address, None)

    def actor_inbox(self, address: str, inbox: Inbox) -> None:
        inbox.attach(None, f"memory://{address}")  # the worker's loop delivers into it
        self.inboxes[address] = inbox
        self.register(address)

    def mailbox(self, address: str) -> Any:
        raise NotImplementedError("a worker process has no client threads")

    def outbox(self) -> _LinkOutbox:
        return _LinkOutbox(self)

    def close_outbox(self) -> None:
        """Outboxes hold nothing."""

    def deliver(self, address: str, payload: bytes) -> bool:
        """A message from the broker into the local actor at `address`."""
        inbox = self.inboxes.get(address)
        if inbox is None:
            return False
        inbox.deliver(payload)
        return True

    def wake(self) -> None:
        with contextlib.suppress(BlockingIOError, OSError):  # a full pipe is awake already
            os.write(self._wake_w, b"\0")

    def drain_wake(self) -> None:
        with contextlib.suppress(BlockingIOError, OSError):
            os.read(self.wake_r, 4096)

    def pending(self) -> list[tuple[str, bytes]]:
        """Every message the runner handed over so far, in order."""
        found = []
        while True:
            try:
                found.append(self.outgoing.get_nowait())
            except queue.Empty:
                return found

    def start(self) -> None:
        """The worker's loop runs the socket."""

    def stop(self) -> None:
        self.inboxes.clear()
        self.local.clear()
        for fd in (self.wake_r, self._wake_w):
            with contextlib.suppress(OSError):
                os.close(fd)
