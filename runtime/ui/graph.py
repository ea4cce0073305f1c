"""A workflow as the dev UI draws it: one graph per flow (the main flow, then each sub-flow),
nodes with their action, edges from each control's next-node params (the catalog names them),
and a SubFlow node's link to the flow it calls."""

from __future__ import annotations

from typing import Any

from weboter.runtime.core.catalog import Catalog
from weboter.runtime.core.flows import index_for
from weboter.schemas.workflow import Flow, Workflow


def graph_of(workflow: Workflow, catalog: Catalog) -> list[dict[str, Any]]:
    """[{path, name, start, nodes: [{id, name, action, control, inputs, calls}],
    edges: [{from, to, label}]}]: the main flow first, then each sub-flow (paths as the
    run's frames name them: the workflow's id first)."""
    index = index_for(workflow)
    return [_flow(flow, list(path), catalog) for path, flow in index.flows.items()]


def _flow(flow: Flow, path: list[str], catalog: Catalog) -> dict[str, Any]:
    ids = {n.id for n in flow.nodes}
    nodes, edges = [], []
    for node in flow.nodes:
        calls = node.inputs.get("flow_id") if node.action.endswith("SubFlow") else None
        nodes.append(
            {
                "id": node.id,
                "name": node.name or "",
                "action": node.action,
                "control": node.control,
                "inputs": node.inputs,
                "calls": calls if isinstance(calls, str) else None,
            }
        )
        control = catalog.find_control(node.control)
        for param in control.node_params if control is not None else ():
            target = node.params.get(param)
            if isinstance(target, str) and target in ids:
                edges.append({"from": node.id, "to": target, "label": param})
    return {
        "path": path,
        "name": flow.name or flow.id,
        "start": flow.start,
        "nodes": nodes,
        "edges": edges,
    }
