"""Which worker process holds which run, and which nodes wait for a slot: the broker's book
(actors/broker.py), kept apart from its sockets so it can be read (and tested) on its own.

A run is *leased* to one worker from its first node until it ends (`release`) or the worker is
lost (`lost`): its browser context lives there, so its nodes go there. A new run goes to the
worker with the fewest runs (then the fewest busy slots). A worker runs at most `capacity`
nodes at once, one per run; more wait in its queue, in order. With no worker at all, nodes wait
unplaced until one says READY. The first node sent to a worker for a run says so (`new_lease`):
the run's LEASE goes first, whenever that node leaves the queue.

    book = Leases()
    book.join(b"w1", "box:12", capacity=2, now=0.0)
    for entry, task, new_lease in book.submit(Task("run", "n1", 3, "c1", "executor", payload)):
        ...  # send it (a LEASE first when new_lease)
"""

from __future__ import annotations

import collections
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Task:
    """One ExecuteNode on its way to a worker: what names it, and the encoded message."""

    run_id: str
    node_id: str
    version: int
    command_id: str  # the result must carry it: a report of another node is not this one's
    reply_to: str  # where the result's answer goes (the executor driving the run)
    payload: bytes
    storage: str = ""  # the stored page state the node was given (a result may name it again)


@dataclass
class Entry:
    """A worker as the book knows it."""

    identity: bytes
    name: str
    capacity: int
    seen: float  # when it was last heard from (monotonic seconds)
    runs: set[str] = field(default_factory=set)  # leased to it
    unleased: set[str] = field(default_factory=set)  # leased, but the LEASE not sent yet
    busy: dict[str, Task] = field(default_factory=dict)  # run -> the node it runs now
    waiting: collections.deque[Task] = field(default_factory=collections.deque)


Dispatch = tuple[Entry, Task, bool]  # (to whom, what, whether the run's LEASE goes first)


class Leases:
    def __init__(self) -> None:
        self.workers: dict[bytes, Entry] = {}
        self.holder: dict[str, bytes] = {}  # run -> the identity of the worker holding it
        self.unplaced: collections.deque[Task] = collections.deque()

    def join(self, identity: bytes, name: str, capacity: int, now: float) -> list[Dispatch]:
        """A worker said READY: it takes what waits unplaced (as far as there are slots)."""
        self.workers[identity] = Entry(identity, name, max(capacity, 1), now)
        waiting, self.unplaced = self.unplaced, collections.deque()
        return [d for task in waiting for d in self.submit(task)]

    def seen(self, identity: bytes, now: float) -> Entry | None:
        entry = self.workers.get(identity)
        if entry is not None:
            entry.seen = now
        return entry

    def holder_of(self, run_id: str) -> Entry | None:
        identity = self.holder.get(run_id)
        return None if identity is None else self.workers.get(identity)

    def place(self, run_id: str) -> Entry | None:
        """The worker holding `run_id`, else the least loaded one (now holding it, its LEASE
        pending); None with no worker at all."""
        held = self.holder_of(run_id)
        if held is not None:
            return held
        if not self.workers:
            return None
        chosen = min(self.workers.values(), key=lambda w: (len(w.runs), len(w.busy), w.name))
        chosen.runs.add(run_id)
        chosen.unleased.add(run_id)
        self.holder[run_id] = chosen.identity
        return chosen

    @staticmethod
    def lease_pending(entry: Entry, run_id: str) -> bool:
        """True (once) when the run's LEASE must go to `entry` before anything else of it."""
        if run_id in entry.unleased:
            entry.unleased.discard(run_id)
            return True
        return False

    def submit(self, task: Task) -> list[Dispatch]:
        """Place a node: sent now if its worker has a free slot, else queued there."""
        entry = self.place(task.run_id)
        if entry is None:
            self.unplaced.append(task)
            return []
        entry.waiting.append(task)
        return self.fill(entry)

    def finished(self, entry: Entry, run_id: str) -> list[Dispatch]:
        """`entry` reported the node of `run_id`: its slot takes the next waiting node."""
        entry.busy.pop(run_id, None)
        return self.fill(entry)

    def fill(self, entry: Entry) -> list[Dispatch]:
        """Waiting nodes into free slots, in order (one node per run at a time)."""
        sent: list[Dispatch] = []
        for task in list(entry.waiting):
            if len(entry.busy) >= entry.capacity:
                break
            if task.run_id not in entry.busy:
                entry.waiting.remove(task)
                entry.busy[task.run_id] = task
                sent.append((entry, task, self.lease_pending(entry, task.run_id)))
        return sent

    def release(self, run_id: str) -> Entry | None:
        """The run ended: its lease, its busy slot and its waiting nodes go."""
        self.unplaced = collections.deque(t for t in self.unplaced if t.run_id != run_id)
        entry = self.holder_of(run_id)
        self.holder.pop(run_id, None)
        if entry is not None:
            entry.runs.discard(run_id)
            entry.unleased.discard(run_id)
            entry.busy.pop(run_id, None)
            entry.waiting = collections.deque(t for t in entry.waiting if t.run_id != run_id)
        return entry

    def cancel(self, run_id: str) -> None:
        """Nodes of `run_id` not yet sent are dropped (the one running is cancelled there)."""
        self.unplaced = collections.deque(t for t in self.unplaced if t.run_id != run_id)
        entry = self.holder_of(run_id)
        if entry is not None:
            entry.waiting = collections.deque(t for t in entry.waiting if t.run_id != run_id)

    def expired(self, now: float, timeout: float) -> list[Entry]:
        """The workers not heard from for `timeout` seconds (removed, with their leases)."""
        gone = [w for w in self.workers.values() if now - w.seen > timeout]
        for entry in gone:
            self.lost(entry)
        return gone

    def next_expiry(self, timeout: float) -> float | None:
        """When the first worker would be presumed lost (monotonic seconds), if any."""
        return min((w.seen + timeout for w in self.workers.values()), default=None)

    def lost(self, entry: Entry) -> None:
        """Forget `entry` and its leases (its busy and waiting nodes are the caller's to
        place again)."""
        self.workers.pop(entry.identity, None)
        for run_id in entry.runs:
            if self.holder.get(run_id) == entry.identity:
                del self.holder[run_id]
