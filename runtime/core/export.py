"""A run's workflow as it stands now — patches, applied repairs and added nodes (an agent's
acts) included — written out as a workflow file: YAML or JSON, in the format `weboter run`
reads. Nodes no path reaches any more (an act that failed and was done another way) are left
out of the root flow."""

from __future__ import annotations

import json
from typing import Any, Literal

import msgspec
import yaml

from weboter.runtime.core.catalog import Catalog
from weboter.schemas.workflow import END, EXIT, Node, Workflow

Format = Literal["yaml", "json"]


def targets(node: Node, catalog: Catalog) -> list[str]:
    """The nodes a node's control may go to (its params that name nodes); an unknown control
    or a computed target: every node may be next (nothing is left out)."""
    control = catalog.find_control(node.control)
    if control is None:
        return ["*"]
    named = [node.params.get(p) for p in control.node_params]
    for p in control.node_maps:
        mapping = node.params.get(p)
        named += list(mapping.values()) if isinstance(mapping, dict) else ["*"]
    return [t if isinstance(t, str) else "*" for t in named if t is not None]


def reachable(workflow: Workflow, catalog: Catalog) -> Workflow:
    """`workflow` without the root flow's nodes that no path from its start reaches."""
    by_id = {node.id: node for node in workflow.nodes}
    seen: list[str] = []
    todo = [workflow.start] if workflow.start else []
    while todo:
        node_id = todo.pop(0)
        if node_id in seen or node_id not in by_id:
            continue
        seen.append(node_id)
        found = targets(by_id[node_id], catalog)
        if "*" in found or any("{" in t for t in found):  # a target computed at run time
            return workflow
        todo += [t for t in found if t not in (END, EXIT)]
    kept = [node for node in workflow.nodes if node.id in seen]
    return msgspec.structs.replace(workflow, nodes=kept)


def as_text(workflow: Workflow, catalog: Catalog, fmt: Format = "yaml") -> str:
    """The workflow as a file's text (`weboter run` reads it back as it is)."""
    data: dict[str, Any] = msgspec.to_builtins(reachable(workflow, catalog))
    if fmt == "json":
        return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)
