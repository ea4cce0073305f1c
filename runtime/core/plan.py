"""`plan`: the node a RUNNING or STEPPING run executes next, as the message for a Node Runner.

The State Manager builds it from the state it has just folded and hands it to the executor
that drives the run, so nobody else folds events or reads the log to know what comes next.
"""

from __future__ import annotations

from msgspec.structs import replace

from weboter.runtime.core.decision import DRIVEN
from weboter.runtime.core.flows import index_for
from weboter.runtime.core.ids import new_command_id
from weboter.runtime.core.repair import policy_of
from weboter.schemas.messages import ExecuteNode
from weboter.schemas.state import RunState
from weboter.schemas.workflow import Node

__all__ = ["DRIVEN", "plan", "policy_for"]


def plan(state: RunState, reply_to: str) -> ExecuteNode | None:
    """The next node of a driven run; None if the run rests (or its cursor names no node)."""
    if state.status not in DRIVEN or not state.frames:
        return None
    frame = state.frame
    node = index_for(state.workflow).node(frame.flow_path, frame.cursor or "")
    if node is None:
        return None
    if state.next_inputs is not None:  # a pre_node_execute hook changed them, for this run
        node = replace(node, inputs=state.next_inputs)
    return ExecuteNode(
        command_id=new_command_id(),
        run_id=state.run_id,
        version=state.version,
        node=node,
        flow_path=frame.flow_path,
        reply_to=reply_to,
        flow_vars=frame.vars,
        globals=state.globals,
        prev_outputs=state.prev_outputs,
        loop_count=frame.loops.get(node.id, 0),
        browser=state.browser,
        arrived=state.node_version,
        heal=policy_for(node, state) == "heal",
        allow_hosts=state.workflow.allow_hosts,
        evidence=state.evidence,
        browser_of=state.item_of.run if state.item_of is not None else "",
    )


def policy_for(node: Node, state: RunState) -> str:
    """The `do` of the node's on_error policy, else the run's ("" when neither says)."""
    if not node.on_error and not state.on_error:
        return ""
    found = policy_of(node.on_error) or policy_of(state.on_error)
    return found.do if found is not None else ""
