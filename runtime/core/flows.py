"""Finding flows and nodes in a workflow tree, with the original's visibility rule: a flow
sees its own sub-flows and its ancestors' sub-flows, not a sibling's children."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from msgspec import to_builtins
from msgspec.structs import replace

from weboter.schemas.context import NodeModifications
from weboter.schemas.workflow import Flow, Node, Workflow


class FlowIndex:
    """Flows by path (root id first) and nodes by id, built once per workflow."""

    def __init__(self, workflow: Workflow) -> None:
        self.workflow = workflow
        self.flows: dict[tuple[str, ...], Flow] = {}
        self.nodes: dict[tuple[str, ...], dict[str, Node]] = {}
        self._add(workflow, (workflow.id,))

    def _add(self, flow: Flow, path: tuple[str, ...]) -> None:
        self.flows[path] = flow
        self.nodes[path] = {node.id: node for node in flow.nodes}
        for sub in flow.sub_flows:
            self._add(sub, (*path, sub.id))

    def flow(self, path: list[str] | tuple[str, ...]) -> Flow:
        return self.flows[tuple(path)]

    def node(self, path: list[str] | tuple[str, ...], node_id: str) -> Node | None:
        return self.nodes.get(tuple(path), {}).get(node_id)

    def callable_from(
        self, path: list[str] | tuple[str, ...], flow_id: str
    ) -> tuple[str, ...] | None:
        """The path of the flow that `flow_id` names when called from the flow at `path`."""
        here = tuple(path)
        while here:
            candidate = (*here, flow_id)
            if candidate in self.flows:
                return candidate
            here = here[:-1]
        return None


_CACHE: OrderedDict[int, FlowIndex] = OrderedDict()
_CACHE_SIZE = 128
_LAST: list[FlowIndex | None] = [None]  # the index asked for last (one item: replaced whole)


def index_for(workflow: Workflow) -> FlowIndex:
    """A cached FlowIndex (workflows are frozen; the cache keeps the object alive)."""
    last = _LAST[0]
    if last is not None and last.workflow is workflow:  # a run asks for its own, node after node
        return last
    key = id(workflow)
    found = _CACHE.get(key)
    if found is not None and found.workflow is workflow:
        _CACHE.move_to_end(key)
        _LAST[0] = found
        return found
    index = FlowIndex(workflow)
    _CACHE[key] = index
    _LAST[0] = index
    if len(_CACHE) > _CACHE_SIZE:
        _CACHE.popitem(last=False)
    return index


def _rebuild(flow: Flow, path: tuple[str, ...], change: Callable[[Flow], Flow]) -> Flow:
    """`flow` with the flow at `path` (relative, first element is `flow` itself) changed."""
    if len(path) == 1:
        return change(flow)
    subs = [_rebuild(sub, path[1:], change) if sub.id == path[1] else sub for sub in flow.sub_flows]
    return replace(flow, sub_flows=subs)


def patch_node(
    workflow: Workflow, flow_path: list[str], node_id: str, changes: NodeModifications
) -> Workflow:
    """The workflow with one node's inputs/control/params/action replaced (None: kept)."""
    fields = {k: v for k, v in to_builtins(changes).items() if v is not None}

    def change(flow: Flow) -> Flow:
        nodes = [replace(n, **fields) if n.id == node_id else n for n in flow.nodes]
        return replace(flow, nodes=nodes)

    return _rebuild(workflow, tuple(flow_path), change)


def merged(node: Node, changes: NodeModifications) -> NodeModifications:
    """`changes` with the whole maps a patch writes: its `inputs` and `params` merged into
    `node`'s own (a key given as None is removed) — unless it changes the node's action (its
    inputs) or control (its params): those are the new action's or control's alone."""

    def merge(own: dict[str, Any], given: dict[str, Any] | None, fresh: bool) -> Any:
        if given is None:
            return {} if fresh else None  # a new action without inputs keeps none of the old
        both = given if fresh else {**own, **given}
        return {key: value for key, value in both.items() if value is not None}

    new_action = changes.action is not None and _same(changes.action) != _same(node.action)
    new_control = changes.control is not None and _same(changes.control) != _same(node.control)
    return replace(
        changes,
        inputs=merge(node.inputs, changes.inputs, new_action),
        params=merge(node.params, changes.params, new_control),
    )


def _same(name: str | None) -> str | None:
    """An action or control's name as the catalog knows it: `ClickItem` is `builtin.ClickItem`."""
    return name.removeprefix("builtin.") if name else name


def add_node(workflow: Workflow, flow_path: list[str], node: Node) -> Workflow:
    def change(flow: Flow) -> Flow:
        return replace(flow, nodes=[*flow.nodes, node])

    return _rebuild(workflow, tuple(flow_path), change)


def undone(now: Workflow, past: Workflow) -> list[str]:
    """What going back from `now` to `past` undoes in the workflow: each node patched or
    added since ("node read patched", "node extra added", "sub/node x patched")."""
    then = index_for(past).nodes
    said = []
    for path, nodes in index_for(now).nodes.items():
        where = "/".join(path[1:]) + "/" if len(path) > 1 else ""
        for node_id, node in nodes.items():
            before = then.get(path, {}).get(node_id)
            if before is None:
                said.append(f"node {where}{node_id} added")
            elif before != node:
                said.append(f"node {where}{node_id} patched")
    return said
