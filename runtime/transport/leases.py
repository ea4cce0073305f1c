"""Which worker process holds which run, and which nodes wait for a slot: the broker's book
(actors/broker.py), kept apart from its sockets so it can be read (and tested) on its own.

A run is *leased* to one worker from its first node until it ends (`release`) or the worker is
lost (`lost`): its browser context lives there, so its nodes go there. A new run goes to the
worker with the fewest runs (then the fewest busy slots). A worker runs at most `capacity`
nodes at once; more wait in its queue, in order. With no worker at all, nodes wait unplaced
until one says READY.

    book = Leases()
    book.join(b"w1", "box:12", capacity=2, now=0.0)
    for worker, task, new_lease in book.submit(Task("run", "n1", 3, payload)):
        ...  # send it (a LEASE first when new_lease)
"""

from __future__ import annotations

import collections
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Task:
    """One ExecuteNode on its way to a worker (the encoded message, and what names it)."""

    run_id: str
    node_id: str
    version: int
    payload: bytes


@dataclass
class Worker:
    identity: bytes
    name: str
    capacity: int
    seen: float  # when it was last heard from (monotonic seconds)
    runs: set[str] = field(default_factory=set)
    busy: dict[str, Task] = field(default_factory=dict)  # run -> the node it runs now
    waiting: collections.deque[Task] = field(default_factory=collections.deque)


Dispatch = tuple[Worker, Task, bool]  # (to whom, what, whether the run's lease is new)


class Leases:
    def __init__(self) -> None:
        self.workers: dict[bytes, Worker] = {}
        self.holder: dict[str, bytes] = {}  # run -> the identity of the worker holding it
        self.unplaced: collections.deque[Task] = collections.deque()

    def join(self, identity: bytes, name: str, capacity: int, now: float) -> list[Dispatch]:
        """A worker said READY: it takes what waits unplaced (as far as there are slots)."""
        self.workers[identity] = Worker(identity, name, max(capacity, 1), now)
        waiting, self.unplaced = self.unplaced, collections.deque()
        return [d for task in waiting for d in self.submit(task)]

    def seen(self, identity: bytes, now: float) -> Worker | None:
        worker = self.workers.get(identity)
        if worker is not None:
            worker.seen = now
        return worker

    def holder_of(self, run_id: str) -> Worker | None:
        identity = self.holder.get(run_id)
        return None if identity is None else self.workers.get(identity)

    def place(self, run_id: str) -> tuple[Worker | None, bool]:
        """The worker holding `run_id`, else the least loaded one (now holding it); and whether
        the lease is new. (None, False) with no worker at all."""
        held = self.holder_of(run_id)
        if held is not None:
            return held, False
        if not self.workers:
            return None, False
        chosen = min(self.workers.values(), key=lambda w: (len(w.runs), len(w.busy), w.name))
        chosen.runs.add(run_id)
        self.holder[run_id] = chosen.identity
        return chosen, True

    def submit(self, task: Task) -> list[Dispatch]:
        """Place a node: sent now if its worker has a free slot, else queued there."""
        worker, new = self.place(task.run_id)
        if worker is None:
            self.unplaced.append(task)
            return []
        if len(worker.busy) >= worker.capacity or task.run_id in worker.busy:
            worker.waiting.append(task)
            return []
        worker.busy[task.run_id] = task
        return [(worker, task, new)]

    def finished(self, worker: Worker, run_id: str) -> list[Dispatch]:
        """`worker` reported the node of `run_id`: its slot takes the next waiting node."""
        worker.busy.pop(run_id, None)
        return self.fill(worker)

    def fill(self, worker: Worker) -> list[Dispatch]:
        """Waiting nodes into free slots, in order (one node per run at a time)."""
        sent: list[Dispatch] = []
        for task in list(worker.waiting):
            if len(worker.busy) >= worker.capacity:
                break
            if task.run_id not in worker.busy:
                worker.waiting.remove(task)
                worker.busy[task.run_id] = task
                sent.append((worker, task, False))
        return sent

    def release(self, run_id: str) -> Worker | None:
        """The run ended: its lease, its busy slot and its waiting nodes go."""
        self.unplaced = collections.deque(t for t in self.unplaced if t.run_id != run_id)
        worker = self.holder_of(run_id)
        self.holder.pop(run_id, None)
        if worker is not None:
            worker.runs.discard(run_id)
            worker.busy.pop(run_id, None)
            worker.waiting = collections.deque(t for t in worker.waiting if t.run_id != run_id)
        return worker

    def cancel(self, run_id: str) -> None:
        """Nodes of `run_id` not yet sent are dropped (the one running is cancelled there)."""
        self.unplaced = collections.deque(t for t in self.unplaced if t.run_id != run_id)
        worker = self.holder_of(run_id)
        if worker is not None:
            worker.waiting = collections.deque(t for t in worker.waiting if t.run_id != run_id)

    def expired(self, now: float, timeout: float) -> list[Worker]:
        """The workers not heard from for `timeout` seconds (removed, with their leases)."""
        gone = [w for w in self.workers.values() if now - w.seen > timeout]
        for worker in gone:
            self.lost(worker)
        return gone

    def lost(self, worker: Worker) -> None:
        """Forget `worker` and its leases (its busy and waiting nodes are the caller's to
        place again)."""
        self.workers.pop(worker.identity, None)
        for run_id in worker.runs:
            if self.holder.get(run_id) == worker.identity:
                del self.holder[run_id]
