"""A run's workflow as it stands now — patches, applied repairs and added nodes (an agent's
acts) included — written out as a workflow file: YAML or JSON, in the format `weboter run`
reads. Nodes no path reaches any more (an act that failed and was done another way) are left
out of the root flow. A secret's value the log keeps as a marker (text typed that was an
`$env` value) is written as its `$env{…}` reference. A run that came from a YAML file is
written as that file changed (`rewritten`): its comments, order and layout kept, only what
changed written anew."""

from __future__ import annotations

import io
import json
from typing import Any, Literal

import msgspec
import yaml
from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError
from ruamel.yaml.util import load_yaml_guess_indent

from weboter.runtime.core.catalog import Catalog
from weboter.runtime.core.references import display
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
    data: dict[str, Any] = display(msgspec.to_builtins(reachable(workflow, catalog)))
    if fmt == "json":
        return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)


def rewritten(text: str, original: Workflow, current: Workflow) -> str | None:
    """The YAML file `text`, which `original` was read from, changed to say `current`: every
    comment, the order and the layout kept; a changed node gets only its changed keys written
    (in place), an added node is appended. None when that cannot be done faithfully (not
    YAML, a sub-flow changed): write `as_text` instead."""
    if original.sub_flows != current.sub_flows:
        return None
    editor = YAML()  # round trip: comments and layout are kept
    editor.preserve_quotes = True
    editor.width = 100
    try:
        doc, indent, dash = load_yaml_guess_indent(text)
        doc = editor.load(text)
    except YAMLError:
        return None
    sequence, dash = indent or 2, dash or 0  # "  - id: …": items 4 in, the dash 2
    editor.indent(mapping=max(sequence - dash, 2), sequence=sequence, offset=dash)
    nodes = doc.get("nodes") if isinstance(doc, dict) else None
    if not isinstance(nodes, list):
        return None
    in_file = {entry.get("id"): entry for entry in nodes if isinstance(entry, dict)}
    before = {node.id: msgspec.to_builtins(node) for node in original.nodes}
    for node in current.nodes:
        after = display(msgspec.to_builtins(node))
        if node.id not in in_file:
            nodes.append(after)
        elif before.get(node.id) != after:
            _update(in_file[node.id], before.get(node.id, {}), after)
    out = io.StringIO()
    editor.dump(doc, out)
    return out.getvalue()


def _update(entry: Any, before: dict[str, Any], after: dict[str, Any]) -> None:
    """Write into `entry` (a mapping of the file) what differs from `before` to `after`,
    recursing into mappings so that the comments inside them stay."""
    for key in [*before, *(k for k in after if k not in before)]:
        old, new = before.get(key), after.get(key)
        if old == new:
            continue
        if key not in after:
            entry.pop(key, None)
        elif isinstance(old, dict) and isinstance(new, dict) and isinstance(entry.get(key), dict):
            _update(entry[key], old, new)
        else:
            entry[key] = new
