"""The outbox: committed events on their way to the Context Bus, in small batches.

Publishing each commit on its own costs the hot path a third of its time
(bench/node_overhead.py), so the State Manager hands committed events here and they go out
at most PUBLISH_DELAY seconds after commit, or as soon as PUBLISH_BATCH are held; during a
stretch of inline nodes (hundreds of commits a second) every STRETCH_PUBLISH seconds, since
each batch wakes the bus and a wake costs the stretch a node's time. Nothing leaves while it
is in an uncommitted group (durability `batch`); a lost group's events never leave.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from weboter.schemas.messages import Publish, StoredEvent

PUBLISH_DELAY = 0.002
PUBLISH_BATCH = 256
STRETCH_PUBLISH = 0.02


class Outbox:
    def __init__(self, send: Callable[[Publish], object], pending: Callable[[], bool]) -> None:
        self._send = send
        self._pending = pending  # the log holds an uncommitted group: hold everything
        self._held: list[StoredEvent] = []
        self._prev_seqs: dict[str, int] = {}  # run -> the seq its first held event follows
        self._since = 0.0  # when the oldest held event came

    def add(self, stored: list[StoredEvent], prev_seq: int) -> None:
        """Hold `stored` (one command's events, committed after `prev_seq`)."""
        if not self._held:
            self._since = time.monotonic()
        self._held.extend(stored)
        self._prev_seqs.setdefault(stored[0].run_id, prev_seq)
        if len(self._held) >= PUBLISH_BATCH:
            self.flush()

    def flush(self) -> None:
        """Hand what is held to the bus; nothing while it is in an uncommitted group."""
        if self._held and not self._pending():
            self._send(Publish(events=self._held, prev_seqs=self._prev_seqs))
            self._held, self._prev_seqs = [], {}

    def drop(self) -> None:
        """The group these events were in was never committed: nobody may hear of them."""
        self._held, self._prev_seqs = [], {}

    def wait(self) -> float | None:
        """Publish what is due; how long until the rest is (None: nothing held)."""
        if not self._held:
            return None
        left = PUBLISH_DELAY - (time.monotonic() - self._since)
        if left <= 0:
            self.flush()
            return None
        return left

    def stretch_due(self) -> None:
        """During a stretch of inline nodes: publish when the oldest held event waited long."""
        if self._held and time.monotonic() - self._since >= STRETCH_PUBLISH:
            self.flush()
