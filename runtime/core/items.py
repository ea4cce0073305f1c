"""FanOut: a sub-flow run over a list, each item as a run of its own (pure parts).

A `FanOut` node names a sub-flow (`flow_id`, as `SubFlow`) and a list (`items`). Each item
becomes an *item run*: a run whose workflow is that sub-flow (with the sub-flows it may call),
whose `$flow{<item>}` is the item and whose `$global` scope holds only what `data_in` puts
there (a copy of the parent's would be written in every item run's first event). Item
runs are ordinary runs — every step in the log, inspectable, forkable — made and driven by the
engine's fan-out actor (actors/fan_out.py), at most `at_once` at a time. When every item has
completed, the node completes with `results`: the `data_out` of each item run, in the order of
the items.

An item run's id is derived from (parent, node, arrival, index, try) — the arrival being the
version at which the parent arrived at the node: a fan-out that starts again for the same
arrival (a crash resume, an engine restart, the node retried from ERROR) finds the runs it made
before, takes the results of those that completed, drives on those that did not, and makes only
the missing ones — each item completes once; the node reached again (a loop, a jump, a rewind)
is a new arrival and runs its items anew. A failed item's next try is a new run: `try` counts
the failed ones.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

import msgspec

from weboter.runtime.core.flows import index_for
from weboter.runtime.core.node import pick, picker_target
from weboter.runtime.core.references import (
    REFERENCE,
    SCOPE_ALIASES,
    Resolver,
    references_in,
)
from weboter.runtime.errors import WorkflowError
from weboter.schemas.context import ErrorContext
from weboter.schemas.messages import ExecuteNode
from weboter.schemas.state import Frame, ItemOf, RunState, RunStatus
from weboter.schemas.workflow import END, Node, Workflow

ACTION = "builtin.FanOut"
AT_ONCE_MAX = 64  # items in flight for one node: each may hold a browser context


ITEM_SOURCE = re.compile(r"item (\d+) of node (.+) of run ([0-9a-f]{16})")


def item_source(of: ItemOf) -> str:
    """An item run's `source` (what the runs list shows): "item 3 of node each of run …"."""
    return f"item {of.index + 1} of node {of.node} of run {of.run}"


def item_from_source(source: str) -> dict[str, Any] | None:
    """{item (from 1), node, run} of an item run's `source`; None for any other run."""
    found = ITEM_SOURCE.fullmatch(source)
    if found is None:
        return None
    return {"item": int(found.group(1)), "node": found.group(2), "run": found.group(3)}


def fans_out(node: Node) -> bool:
    """True when `node` is carried out by the fan-out actor (its action is FanOut)."""
    return node.action in (ACTION, "FanOut")


class Plan(msgspec.Struct, frozen=True):
    """A FanOut node's resolved inputs: what each item run starts from."""

    flow_path: tuple[str, ...]  # the sub-flow, as the workflow's index knows it
    items: list[Any]
    item: str  # the sub-flow's `$flow` variable that holds the item
    flow_vars: dict[str, Any]  # data_in's plain (flow) targets, the same for every item
    global_vars: dict[str, Any]  # data_in's `$global` targets: an item run's whole $global
    data_out: list[Any]  # pickers evaluated in each item run when it has completed
    at_once: int


def item_run_id(of: ItemOf) -> str:
    """The id of an item run: the same for the same arrival, item and try, whoever asks."""
    parts = [of.run, "/".join(of.flow_path), of.node, str(of.arrived), str(of.index)]
    key = "\x00".join([*parts, str(of.attempt)])
    return hashlib.sha256(key.encode()).hexdigest()[:16]


def plan_items(
    workflow: Workflow, flow_path: list[str], node: Node, inputs: dict[str, Any], resolver: Resolver
) -> Plan:
    """`inputs` (resolved, but for `data_in`/`data_out`, which are pickers) checked and read;
    WorkflowError saying what to fix when they are not usable."""
    where = f"node {node.id!r}"
    flow_id = inputs.get("flow_id")
    path = index_for(workflow).callable_from(flow_path, str(flow_id))
    if not isinstance(flow_id, str) or path is None:
        raise WorkflowError(
            f"{where}: no sub-flow {flow_id!r} is visible from flow {'/'.join(flow_path)}",
            hint="flow_id names one of the flow's sub_flows (or an enclosing flow's)",
        )
    items = inputs.get("items")
    if not isinstance(items, list):
        raise WorkflowError(
            f"inputs.items must be a list, got {type(items).__name__}",
            hint='e.g. items: "$flow{links}" where an earlier node stored a list',
        )
    name = inputs.get("item") or "item"
    at_once = inputs.get("at_once", 4)
    if not isinstance(at_once, int) or isinstance(at_once, bool) or not 1 <= at_once <= AT_ONCE_MAX:
        raise WorkflowError(
            f"inputs.at_once must be a whole number from 1 to {AT_ONCE_MAX}, got {at_once!r}",
            hint="how many items run at once (each has a browser context of its own)",
        )
    flow_vars: dict[str, Any] = {}
    global_vars: dict[str, Any] = {}
    for dst, value in pick(node.inputs.get("data_in") or [], resolver, f"{where} data_in"):
        scope, target = picker_target(dst)
        (global_vars if scope == "global" else flow_vars)[target] = value
    data_out = node.inputs.get("data_out") or []
    if not isinstance(data_out, list):
        raise WorkflowError(f"{where} data_out must be a list of {{src, dst}} pickers")
    return Plan(path, items, str(name), flow_vars, global_vars, data_out, at_once)


def written_faults(node: Node) -> list[tuple[str, str]]:
    """What `validate` can tell of a FanOut node as written: (input, fault) for a literal
    `items` that is no list, a literal `at_once` out of range, `$env` in `data_in`."""
    found: list[tuple[str, str]] = []
    items = node.inputs.get("items")
    referenced = isinstance(items, str) and REFERENCE.fullmatch(items.strip())
    if items is not None and not isinstance(items, list) and not referenced:
        found.append(("items", f"items must be a list, got {type(items).__name__}"))
    at_once = node.inputs.get("at_once")
    whole = isinstance(at_once, int) and not isinstance(at_once, bool)
    if isinstance(at_once, str) and REFERENCE.search(at_once):
        pass  # known when the node runs
    elif at_once is not None and not (whole and 1 <= at_once <= AT_ONCE_MAX):
        found.append(("at_once", f"at_once must be a whole number from 1 to {AT_ONCE_MAX}"))
    for scope, _ in references_in(node.inputs.get("data_in") or []):
        if SCOPE_ALIASES.get(scope) == "env":
            found.append(
                (
                    "data_in",
                    "FanOut does not pass $env values to its item runs: read "
                    "$env{...} inside the sub-flow",
                )
            )
            break
    return found


def item_workflow(workflow: Workflow, path: tuple[str, ...]) -> Workflow:
    """The sub-flow at `path` as a workflow of its own: it keeps the sub-flows it could call
    (its own and its ancestors'), and the workflow's host rule."""
    index = index_for(workflow)
    flow = index.flow(path)
    callable_subs = list(flow.sub_flows)
    seen = {sub.id for sub in callable_subs}
    for depth in range(len(path) - 1, 0, -1):  # the ancestors', nearest first
        for sub in index.flow(path[:depth]).sub_flows:
            if sub.id not in seen:
                seen.add(sub.id)
                callable_subs.append(sub)
    return msgspec.structs.replace(
        flow, sub_flows=callable_subs, allow_hosts=list(workflow.allow_hosts)
    )


def item_state(parent: RunState, plan: Plan, item_of: ItemOf, run_id: str) -> RunState:
    """The first state of the run of item `item_of.index`: LOADED at the sub-flow's first node."""
    workflow = item_workflow(parent.workflow, plan.flow_path)
    frame = Frame(
        flow_path=[workflow.id],
        cursor=workflow.start or END,
        vars={**plan.flow_vars, plan.item: plan.items[item_of.index]},
    )
    return RunState(
        run_id=run_id,
        workflow=workflow,
        status=RunStatus.LOADED,
        globals=dict(plan.global_vars),  # not the parent's: each item's log would hold it all
        frames=[frame],
        max_nodes=parent.max_nodes,
        on_error=parent.on_error,
        evidence=parent.evidence,
        item_of=item_of,
    )


def item_result(done: RunState, data_out: list[Any], resolver: Resolver, index: int) -> Any:
    """What a completed item run gives back: its `data_out` pickers evaluated in its root
    flow (as a SubFlow's are when it ends), as {dst: value}."""
    where = f"item {index + 1} (run {done.run_id}) data_out"
    return dict(pick(data_out, resolver, where))


def item_failed(index: int, run_id: str, status: str, error: ErrorContext | None) -> ErrorContext:
    """Why item `index` did not complete: its run ended (or rests) in `status`."""
    said = error.message if error is not None else ""
    return ErrorContext(
        kind="ItemNotCompleted",
        message=f"item {index + 1} (run {run_id}) ended {status}" + (f": {said}" if said else ""),
    )


def items_failed(
    task: ExecuteNode, failed: dict[int, ErrorContext], count: int, done: int, policy: str
) -> ErrorContext:
    """The FanOut node's error: the items that did not complete (the first three said);
    `policy`: the node's on_error policy (what the hint can offer)."""
    shown = [failed[i].message for i in sorted(failed)[:3]]
    more = len(failed) - len(shown)
    waiting = count - done - len(failed)
    again = (
        "fix the item run (`weboter set`/`patch` it) or its cause, then run this node again "
        "(`weboter continue` this run)"
        if policy in ("pause", "heal", "ai", "retry")
        else "the run fails on it (on_error fail): run it with `--on-error pause` (or give "
        "this node `on_error: pause`) to fix items and go on"
    )
    return ErrorContext(
        kind="ItemsFailed",
        message=f"{len(failed)} of {count} items did not complete ({done} did"
        + (f", {waiting} not started" if waiting else "")
        + "): "
        + "; ".join(shown)
        + (f"; and {more} more" if more else ""),
        node_id=task.node.id,
        flow_path=task.flow_path,
        hint=f"look at an item's run (`weboter history RUN`); {again}: completed items are "
        "kept, items waiting in ERROR go on, failed ones are tried anew",
    )
