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

import threading
from dataclasses import dataclass, field
from typing import Any

import msgspec

from weboter.runtime.store.reading import Reader

STEPPED = ("NodeCompleted", "SubFlowReturned", "NodeFailed")
ALONG = ("NodeAttemptFailed", "RepairApplied", "NodePatched", "RunRewound")
READ = (*STEPPED, *ALONG)


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


@dataclass
class Outlined:
    """One node run: its event's seq, the node (with its flow's path), where it went."""

    seq: int
    path: str  # the flow's ids joined by /
    node_id: str
    next_node: str
    outcome: str  # completed | failed | skipped
    marks: list[str] = field(default_factory=list)  # retried, healed, patched
    undone_at: int = 0  # the seq of the rewind that took it back (0: none)

    def counts_at(self, seq: int) -> bool:
        return self.seq <= seq and not (self.undone_at and self.undone_at <= seq)


@dataclass
class _Run:
    seq: int = 0  # the last event read
    steps: list[Outlined] = field(default_factory=list)
    since: dict[str, set[str]] = field(default_factory=dict)  # node key -> marks so far
    patched: set[str] = field(default_factory=set)  # node keys patched (and not rewound)


class Outlines:
    """Per run, its steps in outline, kept up to date as its log grows."""

    def __init__(self) -> None:
        self._runs: dict[str, _Run] = {}
        self._lock = threading.Lock()

    def of(self, log: Reader, run_id: str) -> list[Outlined]:
        with self._lock:
            run = self._runs.setdefault(run_id, _Run())
            for row in log.of_types(run_id, READ, after=run.seq):
                run.seq = row.seq
                _take(run, row.seq, row.type, _decoder.decode(row.payload))
            return list(run.steps)

    def graph_at(self, log: Reader, run_id: str, seq: int | None = None) -> dict[str, Any]:
        """As of `seq` (the newest event without): per node "path/node" how often it
        completed, failed, was skipped, retried, healed; the edges taken (with how often)."""
        marks: dict[str, dict[str, int]] = {}
        taken: dict[tuple[str, str, str], int] = {}
        for step in self.of(log, run_id):
            if seq is not None and step.seq > seq:
                break
            if not step.counts_at(seq if seq is not None else step.seq):
                continue
            key = f"{step.path}/{step.node_id}"
            counts = marks.setdefault(key, {"done": 0, "failed": 0, "skipped": 0})
            counts[{"completed": "done"}.get(step.outcome, step.outcome)] += 1
            for mark in step.marks:
                counts[mark] = counts.get(mark, 0) + 1
            if step.outcome != "failed" and step.next_node:
                edge = (step.path, step.node_id, step.next_node)
                taken[edge] = taken.get(edge, 0) + 1
        return {
            "marks": marks,
            "taken": [
                {"path": p.split("/"), "from": a, "to": b, "times": n}
                for (p, a, b), n in taken.items()
            ],
        }


def _take(run: _Run, seq: int, type_: str, event: _Light) -> None:
    """One event into the outline."""
    path = "/".join(event.error.flow_path if event.error is not None else event.flow_path)
    key = f"{path}/{event.node_id}"
    if type_ == "RunRewound":
        for step in run.steps:
            if step.seq > event.to_seq and not step.undone_at:
                step.undone_at = seq
        run.since.clear()
        return
    if type_ == "NodePatched":
        run.patched.add(key)
        return
    kind = event.action.kind if isinstance(event.action, _Kind) else ""
    if type_ == "NodeAttemptFailed" or (type_ == "RepairApplied" and kind == "retry"):
        run.since.setdefault(event.node_id, set()).add("retried")
        return
    if type_ == "RepairApplied":
        if event.source == "healer":
            run.since.setdefault(event.node_id, set()).add("healed")
        return
    marks = run.since.pop(event.node_id, set())
    if type_ == "NodeFailed":
        outcome = "failed"
        run.since[event.node_id] = {"retried"}  # run again after this: a retry
    else:
        outcome = "skipped" if event.attempts == 0 else "completed"
        if event.attempts > 1:
            marks.add("retried")
    if key in run.patched:
        marks.add("patched")
    step = Outlined(seq, path, event.node_id, event.next_node, outcome, sorted(marks))
    run.steps.append(step)
