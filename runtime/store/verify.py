"""`verify` and `diff`: questions answered from the log alone.

verify: replay a run's control decisions against its recorded action outputs (with the
recorded workflow, or another version of it) and report the first node whose control now
chooses differently — non-determinism, or a changed workflow.

diff: two runs side by side, their steps lined up by the nodes they ran — the first step where
they part, then per step the outputs and the variables (as they stand after the step, so a
value changed at a fork shows) that differ, and the steps only one of them took.
A fork's history is its parent's up to the fork point, then its own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from weboter.runtime.core.advance import advance
from weboter.runtime.core.catalog import Catalog
from weboter.runtime.core.flows import index_for
from weboter.runtime.core.fold import apply
from weboter.runtime.core.node import Writes
from weboter.runtime.core.references import EnvSource, display
from weboter.runtime.errors import IllegalTransition, WeboterError
from weboter.runtime.store.align import aligned
from weboter.runtime.store.eventlog import EventLog
from weboter.runtime.store.projection import state_at
from weboter.schemas.events import (
    NodeCompleted,
    RepairApplied,
    RunCreated,
    RunRewound,
    SubFlowReturned,
)
from weboter.schemas.state import RunState
from weboter.schemas.workflow import Workflow


@dataclass(frozen=True)
class Divergence:
    seq: int
    node_id: str
    expected: str  # what the run did
    actual: str  # what the workflow decides now
    reason: str = ""


def verify(
    log: EventLog, run_id: str, catalog: Catalog, env: EnvSource, workflow: Workflow | None = None
) -> tuple[int, Divergence | None]:
    """(decisions checked, the first divergence or None)."""
    state: RunState | None = None
    checked = 0
    for record in log.read(run_id):
        event = record.event
        if isinstance(event, NodeCompleted | SubFlowReturned) and state is not None:
            checked += 1
            found = _check(state, event, record.seq, catalog, env, workflow or state.workflow)
            if found is not None:
                return checked, found
        state = apply(
            state, event, seq=record.seq, version=record.run_version, at=record.recorded_at
        )
    return checked, None


def _check(
    state: RunState,
    event: NodeCompleted | SubFlowReturned,
    seq: int,
    catalog: Catalog,
    env: EnvSource,
    workflow: Workflow,
) -> Divergence | None:
    node = index_for(workflow).node(event.flow_path, event.node_id)
    if node is None:
        return Divergence(
            seq,
            event.node_id,
            event.next_node,
            "(no such node)",
            "the workflow no longer has this node",
        )
    # a SubFlow node decides in its caller's frame, once the sub-flow has returned
    frame = state.frames[-2] if isinstance(event, SubFlowReturned) else state.frame
    try:  # with the variables as the run wrote them (its outputs mapped then)
        decision = advance(
            state,
            frame,
            node,
            event.outputs,
            Writes(event.flow_vars, event.global_vars),
            catalog=catalog,
            env=env,
            secrets={},
            mapped=False,
        )
    except WeboterError as exc:
        return Divergence(seq, event.node_id, event.next_node, "(error)", exc.message)
    if decision.next_node != event.next_node:
        return Divergence(
            seq,
            event.node_id,
            event.next_node,
            decision.next_node,
            f"control {node.control} now chooses another node",
        )
    return None


@dataclass(frozen=True)
class Step:
    seq: int
    run_id: str
    node_id: str
    next_node: str
    outputs: dict[str, Any]
    variables: dict[str, Any]  # flow and global variables written by this step
    flow_path: tuple[str, ...] = ()
    inputs: dict[str, Any] = field(default_factory=dict)  # as recorded (secrets as markers)
    state: dict[str, Any] = field(default_factory=dict)  # every variable after this step
    repairs: tuple[str, ...] = ()  # repairs applied to reach it: "healer: patch (why)"


def step_back(log: EventLog, run_id: str) -> tuple[int, str]:
    """Where rewinding one node goes: (the seq right before the run's last executed node, that
    node's id). IllegalTransition if no node of this run has run yet."""
    mine = [s for s in history(log, run_id) if s.run_id == run_id]
    if not mine:
        raise IllegalTransition(
            f"no node of run {run_id} has run yet; there is nothing to go back over",
            hint="a fork's earlier nodes belong to its parent: fork the parent earlier",
        )
    before = [e.seq for e in log.read_stored(run_id, until_seq=mine[-1].seq - 1)]
    return before[-1], mine[-1].node_id


def history(log: EventLog, run_id: str, until_seq: int | None = None) -> list[Step]:
    """A run's executed steps as they stand: a fork's begin with its parent's up to the fork
    point; a rewind drops the steps after the point it went back to."""
    steps: list[Step] = []
    state: RunState | None = None
    repairs: list[str] = []  # applied since the last step
    for record in log.read(run_id, until_seq=until_seq):
        event = record.event
        state = apply(state, event, seq=record.seq, version=record.run_version, at=0.0)
        if isinstance(event, RepairApplied):
            repairs.append(f"{event.source}: {event.action.kind} ({event.action.reason})")
        elif isinstance(event, RunCreated) and event.parent_run and event.parent_seq:
            steps = history(log, event.parent_run, event.parent_seq)
        elif isinstance(event, RunRewound):
            steps = [s for s in steps if s.run_id != run_id or s.seq <= event.to_seq]
        elif isinstance(event, NodeCompleted | SubFlowReturned):
            written = {
                **{f"flow.{k}": v for k, v in event.flow_vars.items()},
                **{f"global.{k}": v for k, v in event.global_vars.items()},
            }
            inputs = event.inputs if isinstance(event, NodeCompleted) else {}
            steps.append(
                Step(
                    record.seq,
                    run_id,
                    event.node_id,
                    event.next_node,
                    display(event.outputs),
                    display(written),
                    tuple(event.flow_path),
                    inputs,
                    _variables(state),
                    tuple(repairs),
                )
            )
            repairs = []
    return steps


def _variables(state: RunState) -> dict[str, Any]:
    """Every variable a step leaves: the globals and the current flow's, as people see them."""
    return display(
        {
            **{f"global.{k}": v for k, v in state.globals.items()},
            **{f"flow.{k}": v for k, v in (state.frame.vars if state.frames else {}).items()},
        }
    )


@dataclass
class Comparison:
    first_divergence: int | None  # index into the aligned rows, None when they agree throughout
    steps: list[dict[str, Any]] = field(default_factory=list)  # the rows that differ
    only_a: int = 0  # steps only A has (no step of B ran that node there)
    only_b: int = 0
    # where B (the run that went wrong, usually) can be forked to go on as A did: the event
    # right before its first diverging step, with A's global variables there
    fork_from: dict[str, Any] | None = None


def diff(log: EventLog, run_a: str, run_b: str) -> Comparison:
    """Two runs compared step by step, their steps lined up by the nodes they ran (align.py):
    every row where they differ, the first one marked."""
    a, b = history(log, run_a), history(log, run_b)
    pairs = aligned([(*s.flow_path, s.node_id) for s in a], [(*s.flow_path, s.node_id) for s in b])
    result = Comparison(first_divergence=None)
    last_a = last_b = None
    for index, (i, j) in enumerate(pairs):
        x, y = (a[i] if i is not None else None), (b[j] if j is not None else None)
        changes = _changes(x, y)
        if changes:
            result.only_a += y is None
            result.only_b += x is None
            result.steps.append(_row(index, i, j, x, y, changes))
            if result.first_divergence is None:
                result.first_divergence = index
                result.fork_from = _fork_from(log, (run_a, run_b), last_a, last_b)
        last_a = x or last_a
        last_b = y or last_b
    return result


def _row(
    index: int, i: int | None, j: int | None, x: Step | None, y: Step | None, changes: dict
) -> dict[str, Any]:
    return {
        "index": index,
        "step_a": i,
        "step_b": j,
        "node_a": x.node_id if x else None,
        "node_b": y.node_id if y else None,
        "seq_a": x.seq if x else None,
        "seq_b": y.seq if y else None,
        "changes": changes,
    }


def _fork_from(
    log: EventLog, runs: tuple[str, str], a: Step | None, b: Step | None
) -> dict[str, Any]:
    """B right before the divergence (its last step that matched, or its first event: also
    when that step is its parent's, before B was forked with its changes), with the global
    variables A had there where B's differ (secrets, shown as references, left)."""
    run_b = runs[1]
    if b is None or b.run_id != run_b:
        first = log.read_stored(run_b, limit=1)
        seq = first[0].seq if first else 0
        mine = _globals(state_at(log, run_b, seq)) if first else {}
    else:
        seq, mine = b.seq, b.state
    if a is None:
        first = log.read_stored(runs[0], limit=1)
        theirs = _globals(state_at(log, runs[0], first[0].seq)) if first else {}
    else:
        theirs = a.state
    variables = {
        key.removeprefix("global."): value
        for key, value in theirs.items()
        if key.startswith("global.")
        and mine.get(key) != value
        and not (isinstance(value, str) and value.startswith("$env{"))
    }
    return {"run_id": run_b, "seq": seq, "variables": variables}


def _globals(state: RunState) -> dict[str, Any]:
    return display({f"global.{k}": v for k, v in state.globals.items()})


def _changes(x: Step | None, y: Step | None) -> dict[str, Any]:
    if x is None or y is None:  # a step only one run took
        return {"only": "a" if y is None else "b"}
    found: dict[str, Any] = {}
    if x.node_id != y.node_id:
        found["node"] = {"a": x.node_id, "b": y.node_id}
    if x.next_node != y.next_node:
        found["next_node"] = {"a": x.next_node, "b": y.next_node}
    if x.repairs != y.repairs:  # one run was repaired here (RepairApplied), the other not
        found["repairs"] = {"a": list(x.repairs), "b": list(y.repairs)}
    for kind, left, right in (
        ("outputs", x.outputs, y.outputs),
        ("variables", x.state, y.state),  # as they stand after the step: a fork's changes too
    ):
        for key in sorted(set(left) | set(right)):
            if left.get(key) != right.get(key):
                found.setdefault(kind, {})[key] = {"a": left.get(key), "b": right.get(key)}
    return found
