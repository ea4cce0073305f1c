"""What every actor shares: decode what the bridge delivers, send through this thread's Outbox,
and survive a bad message (log it, keep serving)."""

from __future__ import annotations

import logging
from typing import Any

import msgspec
import pykka

from weboter.runtime.transport.bridge import Bridge, Outbox, SocketInbox, message_decoder
from weboter.schemas.messages import Message

log = logging.getLogger(__name__)


class MessageActor(pykka.ThreadingActor):
    """A pykka actor that talks only in msgspec messages over the bridge."""

    address = "actor"

    def __init__(self, bridge: Bridge) -> None:
        super().__init__()
        self.bridge = bridge
        self._outbox: Outbox | None = None
        assert isinstance(self.actor_inbox, SocketInbox)
        bridge.actor_inbox(self.address, self.actor_inbox)

    @staticmethod
    def _create_actor_inbox() -> SocketInbox:
        return SocketInbox()

    def on_start(self) -> None:
        self._outbox = self.bridge.outbox()  # created here: this socket lives in this thread
        self.started()

    def started(self) -> None:
        """Hook: set-up that must run in the actor's own thread."""

    def on_stop(self) -> None:
        try:
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

    def send(self, dest: str, message: msgspec.Struct) -> None:
        assert self._outbox is not None
        self._outbox.send(dest, message)

    def on_receive(self, message: Any) -> Any:
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
