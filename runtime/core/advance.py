"""`advance`: where a node's result takes the run — the one place a control decides.

A Node Runner reports only what its action produced (outputs, and the variables the action
wrote itself). Here, from the run's state and that report, the node's `outputs[]` are mapped
into variables and its control chooses the next node. The decider calls it when a node's
result is recorded, when a sub-flow returns to its caller, and when a node is skipped;
`verify` calls it to check a recorded run against a workflow. Nothing else runs a control
(tests/test_layers.py holds that).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import msgspec

from weboter.runtime.core.catalog import Catalog, ControlDecision
from weboter.runtime.core.limits import check_value, flat
from weboter.runtime.core.node import Writes, map_outputs, route
from weboter.runtime.core.references import EnvSource
from weboter.runtime.errors import ActionError
from weboter.schemas.state import Frame, RunState
from weboter.schemas.workflow import Node


@dataclass(frozen=True)
class Moved:
    """A node's result applied: the next node of its flow, the variables it writes (the
    action's own, its mapped outputs, the control's), and the control's loop counter."""

    next_node: str
    flow_vars: dict[str, Any] = field(default_factory=dict)
    global_vars: dict[str, Any] = field(default_factory=dict)
    loop_count: int | None = None


def advance(
    state: RunState,
    frame: Frame,
    node: Node,
    outputs: Mapping[str, Any],
    written: Writes,
    *,
    catalog: Catalog,
    env: EnvSource,
    secrets: dict[str, str],
    mapped: bool = True,
) -> Moved:
    """Where `node` of `frame` goes with `outputs` (and the action's own `written` variables).

    An ActionError (or a reference's error) when an output it maps is missing or its control
    cannot decide; `secrets` gains every `$env` value the control's params read. `mapped`
    False: the node's `outputs[]` are not mapped (a skipped node produced nothing)."""
    writes = Writes(dict(written.flow), dict(written.globals))
    if mapped:
        writes = map_outputs(node, outputs, writes)
    decision = route(
        node,
        catalog,
        env,
        globals_={**state.globals, **writes.globals} if writes.globals else state.globals,
        flow={**frame.vars, **writes.flow} if writes.flow else frame.vars,
        prev=state.prev_outputs,
        outputs=outputs,
        loop_count=frame.loops.get(node.id, 0),
        secrets=secrets,
    )
    chosen = _recordable(node, decision)
    flow_vars = {**writes.flow, **chosen} if chosen else writes.flow
    return Moved(decision.next_node, flow_vars, writes.globals, decision.loop_count)


def _recordable(node: Node, decision: ControlDecision) -> dict[str, Any]:
    """The variables a control writes, as the log will read them back; an ActionError when
    a (plugin's) control decided something the log cannot hold."""
    where = f"node {node.id!r}: control {node.control}"
    count = decision.loop_count
    if count is not None and type(count) is not int:
        raise ActionError(
            f"{where} decided what cannot be recorded: a loop count that is not a whole "
            f"number ({count!r})",
            hint="a control's loop count is a whole number, or None",
        )
    writes = decision.flow_writes
    if not writes or flat(writes):
        return dict(writes)
    check_value(writes, f"{where} variables")
    try:
        return msgspec.msgpack.decode(msgspec.msgpack.encode(writes), type=dict[str, Any])
    except (TypeError, ValueError, msgspec.MsgspecError) as exc:
        raise ActionError(
            f"{where} wrote variables that cannot be recorded ({exc})",
            hint="a control must give plain data: text, numbers, lists, dicts with text keys",
        ) from exc
