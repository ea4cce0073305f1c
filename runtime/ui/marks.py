"""How often each node of a run completed and failed, for the graph's colours: read from the
log once, then only the events after the last seq read (a run of 100,000 events is scanned
once per server, not once per page). Counts are of everything the log holds: a node that ran
before a rewind stays marked as having run."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import msgspec

from weboter.runtime.store.reading import Reader

# a node ran: NodeCompleted, or for a SubFlow node SubFlowReturned (its flow is the caller's)
MARKED = ("NodeCompleted", "SubFlowReturned", "NodeFailed")


class _Where(msgspec.Struct):
    flow_path: list[str] = []  # msgspec copies defaults per instance


class _Mark(msgspec.Struct):
    """What the graph needs of those events (the rest is skipped): the node and its flow (a
    failure names its flow in its error)."""

    node_id: str = ""
    flow_path: list[str] = []
    error: _Where | None = None


_decoder = msgspec.msgpack.Decoder(_Mark)


@dataclass
class _Counts:
    seq: int = 0
    done: dict[str, int] = field(default_factory=dict)
    failed: dict[str, int] = field(default_factory=dict)


class NodeMarks:
    """Per run: {"path/node": {"done": n, "failed": m}} (path: the flow's ids joined by /)."""

    def __init__(self) -> None:
        self._runs: dict[str, _Counts] = {}
        self._lock = threading.Lock()

    def of(self, log: Reader, run_id: str) -> dict[str, dict[str, int]]:
        with self._lock:
            counts = self._runs.setdefault(run_id, _Counts())
            for row in log.of_types(run_id, MARKED, after=counts.seq):
                counts.seq = row.seq
                mark = _decoder.decode(row.payload)
                path = mark.error.flow_path if mark.error is not None else mark.flow_path
                key = "/".join([*path, mark.node_id])
                table = counts.failed if row.type == "NodeFailed" else counts.done
                table[key] = table.get(key, 0) + 1
            keys = set(counts.done) | set(counts.failed)
            return {
                k: {"done": counts.done.get(k, 0), "failed": counts.failed.get(k, 0)} for k in keys
            }
