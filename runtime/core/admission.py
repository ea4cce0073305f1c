"""The engine's run slots: at most `limit` runs in progress at once, the others waiting in a
FIFO queue of at most `bound` runs; beyond that a new run is refused at once (back-pressure).

One `Admission` per engine, shared by two actors (as the hook registry is): the Launcher
reserves a place for a run it is about to create (`reserve`: refused when every slot and
every queue place is taken), and the Continuous Executor, the one that drives runs, asks for a
slot when it is told to drive one (`admit`), gives it back when the run rests (`release`) and
starts the runs that take the freed slots, in order. This is scheduling only: what a run's
status is (QUEUED, RUNNING, ...) is decided by the decider, from the commands the executor
sends (`QueueRun`, `StartRun(queued=True)`).

A run that waits on something other than its own browser while its node is in flight (a
parent waiting for its child runs) gives its slot up (`YieldSlot`) and takes one again,
ahead of the queue, before its next node (`admit(front=True)`), so `max_runs 1` cannot
deadlock a parent against its children.

Why a fixed limit and not one that follows CPU and memory: docs/decisions.md, "Runs at once".
"""

from __future__ import annotations

import threading
from typing import Protocol

from weboter.runtime.core.ids import new_command_id
from weboter.schemas.context import ErrorContext
from weboter.schemas.messages import (
    REJECTED,
    Drive,
    ExecuteNode,
    QueueRun,
    RunEnded,
    YieldSlot,
)

DEFAULT_MAX_RUNS = 16  # ~80 MiB of browser each: ~1.3 GiB (docs/scaling.md, "Runs at once")
DEFAULT_MAX_QUEUE = 1000
BUSY = "EngineBusy"  # the ErrorContext.kind of a refused submission


class Admission:
    """Which runs hold a slot, which wait (in order), and the places promised to runs being
    created. Thread-safe: the Launcher and the executor call it from their own threads."""

    def __init__(self, limit: int = 0, bound: int = DEFAULT_MAX_QUEUE) -> None:
        self.limit = limit  # runs in progress at once (0: no limit, no queue)
        self.bound = bound  # runs waiting at most
        self._lock = threading.Lock()
        self._running: set[str] = set()
        self._waiting: list[str] = []
        self._reserved: set[str] = set()  # command ids (then run ids) of runs on their way
        self._closed = False  # the engine is stopping: nothing starts any more

    def reserve(self, key: str) -> ErrorContext | None:
        """A place (a slot or in the queue) for a run about to be created under `key`, or the
        refusal to send: what, why, what to do."""
        with self._lock:
            if not self.limit:
                return None
            running, queued = len(self._running), len(self._waiting) + len(self._reserved)
            if key in self._reserved or running + queued < self.limit + self.bound:
                self._reserved.add(key)
                return None
        return ErrorContext(
            kind=BUSY,
            message=f"the engine has {running} runs in progress (--max-runs {self.limit}) and "
            f"{queued} queued (--max-queue {self.bound}): the run was not created",
            hint="try again later, or raise --max-queue (or --max-runs, if the machine has the "
            "memory: docs/scaling.md, 'Runs at once')",
        )

    def rename(self, key: str, run_id: str) -> None:
        """The run reserved under `key` was created as `run_id`: its place waits for it."""
        with self._lock:
            if key in self._reserved:
                self._reserved.discard(key)
                self._reserved.add(run_id)

    def cancel(self, key: str) -> None:
        """The run reserved under `key` will not be driven (refused, or created to wait)."""
        with self._lock:
            self._reserved.discard(key)

    def admit(self, run_id: str, *, front: bool = False) -> int | None:
        """None: `run_id` holds a slot now. Else it waits: the number of runs ahead of it
        (`front`: it goes first, as a run that gave its slot up to wait takes one back)."""
        with self._lock:
            self._reserved.discard(run_id)
            if run_id in self._running:
                return None
            if run_id in self._waiting:
                return self._waiting.index(run_id)
            free = not self.limit or len(self._running) < self.limit
            if free and not self._waiting and not self._closed:
                self._running.add(run_id)
                return None
            if front:
                self._waiting.insert(0, run_id)
                return 0
            self._waiting.append(run_id)
            return len(self._waiting) - 1

    def release(self, run_id: str) -> list[str]:
        """`run_id` rests (or gave its slot up), or leaves the queue: the runs that take the
        slots free now, in queue order (each holds its slot already)."""
        with self._lock:
            self._running.discard(run_id)
            self._reserved.discard(run_id)
            if run_id in self._waiting:
                self._waiting.remove(run_id)
            admitted: list[str] = []
            while (
                self._waiting
                and not self._closed
                and (not self.limit or len(self._running) < self.limit)
            ):
                admitted.append(self._waiting.pop(0))
                self._running.add(admitted[-1])
            return admitted

    def close(self) -> None:
        """The engine is stopping: no run starts any more (a slot freed by a parked run goes
        to nobody); QUEUED runs stay so in the log, for the engine's restart to take up."""
        with self._lock:
            self._closed = True

    def holds(self, run_id: str) -> bool:
        with self._lock:
            return run_id in self._running

    def counts(self) -> tuple[int, int]:
        """(runs in progress, runs waiting)."""
        with self._lock:
            return len(self._running), len(self._waiting)


class Driver(Protocol):
    """What `RunSlots` asks of the executor it schedules for (actors/executor.py)."""

    watchers: dict[str, str]

    def start_run(
        self,
        run_id: str,
        reply_to: str,
        *,
        resume: bool,
        over: bool = False,
        expect_version: int | None = None,
        queued: bool = False,
    ) -> None: ...

    def queue_run(self, command: QueueRun) -> None: ...

    def tell(self, to: str, message: RunEnded) -> None: ...

    def run_node(self, plan: ExecuteNode) -> None: ...


class RunSlots:
    """The Continuous Executor's scheduling: a run it is told to drive starts when it gets a
    slot, else it waits QUEUED (the executor sends `QueueRun`; the decider records RunQueued)
    until a run rests and frees one (then `StartRun(queued=True)`). In the executor's thread."""

    def __init__(self, driver: Driver, address: str, admission: Admission) -> None:
        self.driver = driver
        self.address = address  # the executor's: where the State Manager answers
        self.admission = admission
        self._queued: dict[str, Drive] = {}  # run -> the Drive it waits to do
        self._held: dict[str, ExecuteNode] = {}  # a run that gave its slot up -> its next node
        self._yielded: set[str] = set()  # runs whose node in flight gave its slot up
        self._planned: dict[str, int] = {}  # run -> the version of its node in flight

    def drive(self, message: Drive) -> None:
        run_id = message.run_id
        if run_id in self._queued or self.admission.holds(run_id):  # asked twice: once is all
            error = ErrorContext(
                kind="IllegalTransition",
                message=f"run {run_id} is driven by this engine already ("
                + ("queued" if run_id in self._queued else "in progress")
                + ")",
                hint="wait for it to rest (`weboter runs` shows where it is)",
            )
            self.driver.tell(
                message.reply_to, RunEnded(run_id=run_id, status=REJECTED, error=error)
            )
            return
        ahead = self.admission.admit(run_id)
        if ahead is None:
            self.driver.start_run(
                run_id,
                message.reply_to,
                resume=message.resume,
                expect_version=message.expect_version,
            )
            return
        self._queued[run_id] = message
        self.driver.watchers[run_id] = message.reply_to
        command = QueueRun(
            command_id=new_command_id(),
            run_id=run_id,
            reply_to=self.address,
            resume=message.resume,
            expect_version=message.expect_version,
            ahead=ahead,
        )
        self.driver.queue_run(command)

    def may_run(self, plan: ExecuteNode) -> bool:
        """Whether the run's planned node may go to the runner now; a run that gave its slot
        up takes one first (ahead of the queue), or its node waits for it."""
        run_id = plan.run_id
        if run_id in self._yielded:
            if self.admission.admit(run_id, front=True) is not None:
                self._held[run_id] = plan
                return False
            self._yielded.discard(run_id)
        self._planned[run_id] = plan.version
        return True

    def give_up(self, message: YieldSlot) -> None:
        """`YieldSlot`: the run's node in flight waits on other runs: its slot goes on."""
        run_id = message.run_id
        if self._planned.get(run_id) != message.version or run_id in self._yielded:
            return  # a late one: that node is done, or gave its slot up already
        if self.admission.holds(run_id):
            self._yielded.add(run_id)
            self._start(self.admission.release(run_id))

    def rested(self, run_id: str) -> None:
        """The run rests (PAUSED, ERROR waiting for a person, ended, refused): its slot or
        its place in the queue goes to the next run."""
        self._queued.pop(run_id, None)
        self._held.pop(run_id, None)
        self._yielded.discard(run_id)
        self._planned.pop(run_id, None)
        self._start(self.admission.release(run_id))

    def _start(self, admitted: list[str]) -> None:
        for run_id in admitted:
            plan = self._held.pop(run_id, None)
            drive = self._queued.pop(run_id, None)
            if plan is not None:
                self._yielded.discard(run_id)
                self._planned[run_id] = plan.version
                self.driver.run_node(plan)
            elif drive is not None:
                self.driver.start_run(run_id, drive.reply_to, resume=drive.resume, queued=True)
            else:  # it left meanwhile: the slot goes on
                self._start(self.admission.release(run_id))
