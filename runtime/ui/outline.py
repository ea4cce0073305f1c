"""A run's steps in outline, for the graph at any point of the timeline and the action list:
which node ran at which seq, where it went, and how it ended (completed, failed, skipped)
with what happened on the way (retried, healed, patched).

Read from the log once per server, then only the events after the last seq read (a run of
100,000 events is scanned once, not once per move of the time cursor). A step a rewind took
back is left out of everything as of the rewind's seq; before it, it counts.

    outlines = Outlines()
    graph = outlines.graph_at(log, run_id, seq)   # counts, path taken, as of seq
    steps = outlines.of(log, run_id)              # every step, oldest first
"""

from __future__ import annotations

import bisect
import threading
from dataclasses import dataclass, field
from typing import Any

import msgspec

from weboter.runtime.store.reading import Reader

STEPPED = ("NodeCompleted", "SubFlowReturned", "NodeFailed")
ALONG = ("NodeAttemptFailed", "RepairApplied", "NodePatched", "RunRewound")
READ = (*STEPPED, *ALONG)
EVERY = 500  # steps between two checkpoints of the counts
OUTCOME = {"completed": "done", "failed": "failed", "skipped": "skipped"}


class _Where(msgspec.Struct):
    flow_path: list[str] = []


class _Kind(msgspec.Struct):
    kind: str = ""


class _Light(msgspec.Struct):
    """What an outline needs of those events (the rest of each is skipped when decoded)."""

    node_id: str = ""
    flow_path: list[str] = []
    next_node: str = ""
    attempts: int = 1
    error: _Where | None = None
    source: str = ""
    action: _Kind | str | None = None
    to_seq: int = 0


_decoder = msgspec.msgpack.Decoder(_Light)


@dataclass(slots=True)
class Outlined:
    """One node run: its event's seq, the node (with its flow's path), where it went."""

    seq: int
    path: str  # the flow's ids joined by /
    node_id: str
    next_node: str
    outcome: str  # completed | failed | skipped
    marks: tuple[str, ...] = ()  # retried, healed, patched
    undone_at: int = 0  # the seq of the rewind that took it back (0: none)
    key: str = ""  # "path/node"


Marks = dict[str, dict[str, int]]
Taken = dict[tuple[str, str, str], int]


@dataclass
class _Run:
    seq: int = 0  # the last event read
    steps: list[Outlined] = field(default_factory=list)
    seqs: list[int] = field(default_factory=list)  # the steps' seqs, to bisect
    undone: list[Outlined] = field(default_factory=list)  # steps a rewind took back
    since: dict[str, set[str]] = field(default_factory=dict)  # node key -> marks so far
    patched: dict[str, int] = field(default_factory=dict)  # node key -> seq of its patch
    healed: set[str] = field(default_factory=set)  # node ids the healer fixed, not run since
    failed: str = ""  # the node key whose step just failed (run again next: a retry)
    # the counts of every EVERY steps, rewound ones included (they are taken off after):
    # the graph at any point adds at most EVERY steps to the nearest one
    totals: tuple[Marks, Taken] = field(default_factory=lambda: ({}, {}))
    checkpoints: list[tuple[Marks, Taken]] = field(default_factory=list)


class Outlines:
    """Per run, its steps in outline, kept up to date as its log grows."""

    def __init__(self) -> None:
        self._runs: dict[str, _Run] = {}
        self._lock = threading.Lock()

    def _read(self, log: Reader, run_id: str) -> _Run:
        run = self._runs.setdefault(run_id, _Run())
        for row in log.of_types(run_id, READ, after=run.seq):
            run.seq = row.seq
            _take(run, row.seq, row.type, _decoder.decode(row.payload))
        return run

    def of(
        self, log: Reader, run_id: str, after: int = 0, limit: int | None = None
    ) -> list[Outlined]:
        """The run's steps with seq > `after`, oldest first (at most `limit`)."""
        with self._lock:
            run = self._read(log, run_id)
            first = bisect.bisect_right(run.seqs, after)
            return run.steps[first : None if limit is None else first + limit]

    def at_or_before(self, log: Reader, run_id: str, seq: int) -> Outlined | None:
        """The run's step at seq `seq`, or its last one before it (None: none yet)."""
        with self._lock:
            run = self._read(log, run_id)
            found = bisect.bisect_right(run.seqs, seq)
            return run.steps[found - 1] if found else None

    def count(self, log: Reader, run_id: str) -> tuple[int, int]:
        """(how many steps the run has, the seq of its last one; 0 without)."""
        with self._lock:
            run = self._read(log, run_id)
            return len(run.steps), (run.seqs[-1] if run.seqs else 0)

    def graph_at(self, log: Reader, run_id: str, seq: int | None = None) -> dict[str, Any]:
        """As of `seq` (the newest event without): per node "path/node" how often it
        completed, failed, was skipped, retried, healed; the edges taken (with how often)."""
        with self._lock:
            run = self._read(log, run_id)
            at = run.seq if seq is None else seq
            upto = bisect.bisect_right(run.seqs, at)
            base = upto // EVERY
            marks, taken = _copied(run.checkpoints[base - 1]) if base else ({}, {})
            for step in run.steps[base * EVERY : upto]:
                _count(marks, taken, step, 1)
            for step in run.undone:  # taken back by then: it no longer counts
                if step.seq <= at and step.undone_at <= at:
                    _count(marks, taken, step, -1)
        return {
            "marks": {k: v for k, v in marks.items() if any(v.values())},
            "taken": [
                {"path": p.split("/"), "from": a, "to": b, "times": n}
                for (p, a, b), n in taken.items()
                if n > 0
            ],
        }


def _count(marks: Marks, taken: Taken, step: Outlined, sign: int) -> None:
    counts = marks.get(step.key)
    if counts is None:
        counts = marks[step.key] = {"done": 0, "failed": 0, "skipped": 0}
    counts[OUTCOME[step.outcome]] += sign
    for mark in step.marks:
        counts[mark] = counts.get(mark, 0) + sign
    if step.outcome != "failed" and step.next_node:
        edge = (step.path, step.node_id, step.next_node)
        taken[edge] = taken.get(edge, 0) + sign


def _copied(point: tuple[Marks, Taken]) -> tuple[Marks, Taken]:
    return {k: dict(v) for k, v in point[0].items()}, dict(point[1])


def _take(run: _Run, seq: int, type_: str, event: _Light) -> None:
    """One event into the outline."""
    where = event.error.flow_path if event.error is not None else event.flow_path
    path = where[0] if len(where) == 1 else "/".join(where)
    key = f"{path}/{event.node_id}"
    if type_ == "RunRewound":
        _rewound(run, seq, event.to_seq)
        return
    if type_ == "NodePatched":
        run.patched[key] = seq
        return
    if type_ == "NodeAttemptFailed":  # tried again at once (the node's retry policy)
        run.since.setdefault(key, set()).add("retried")
        return
    if type_ == "RepairApplied":  # (it names no flow: its node's next step is the one)
        if event.source == "healer":
            run.healed.add(event.node_id)
        return
    marks = run.since.pop(key, set()) if run.since else set()
    if run.healed and event.node_id in run.healed:
        run.healed.discard(event.node_id)
        marks.add("healed")
    if run.failed == key and (type_ == "NodeFailed" or event.attempts):
        marks.add("retried")  # the node that failed, run again (a skip is not a retry)
    run.failed = key if type_ == "NodeFailed" else ""
    if type_ == "NodeFailed":
        outcome = "failed"
    else:
        outcome = "skipped" if event.attempts == 0 else "completed"
        if event.attempts > 1:
            marks.add("retried")
    if key in run.patched:
        marks.add("patched")
    shown = tuple(sorted(marks)) if marks else ()
    step = Outlined(seq, path, event.node_id, event.next_node, outcome, shown, 0, key)
    run.steps.append(step)
    run.seqs.append(seq)
    _count(*run.totals, step, 1)
    if len(run.steps) % EVERY == 0:
        run.checkpoints.append(_copied(run.totals))


def _rewound(run: _Run, seq: int, to_seq: int) -> None:
    """A rewind at `seq` back to right after `to_seq`: the steps after it are undone, and so
    are the patches, failures and heals it went back over."""
    for step in run.steps[bisect.bisect_right(run.seqs, to_seq) :]:
        if not step.undone_at:
            step.undone_at = seq
            run.undone.append(step)
    run.since.clear()
    run.healed.clear()
    run.failed = ""
    run.patched = {k: at for k, at in run.patched.items() if at <= to_seq}
