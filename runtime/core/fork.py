"""Fork: the first state of a new run, from another run's state at one of its events."""

from __future__ import annotations

from typing import Any

from msgspec.structs import replace

from weboter.runtime.core.flows import index_for, patch_node
from weboter.runtime.errors import IllegalTransition
from weboter.schemas.context import NodeModifications
from weboter.schemas.state import RunState, RunStatus


def fork_state(
    parent: RunState,
    at_seq: int,
    *,
    variables: dict[str, Any] | None = None,
    patches: dict[str, NodeModifications] | None = None,
    max_nodes: int | None = None,
) -> RunState:
    """`parent` (its state right after `at_seq`) with global `variables` set, nodes of its
    current flow patched and, if given, a new node budget (counted from the fork point); LOADED,
    without breakpoints. IllegalTransition if it cannot be."""
    if parent.status.terminal:
        raise IllegalTransition(
            f"run {parent.run_id} had already ended at seq {at_seq}; fork at an earlier event",
            hint="`weboter history RUN` lists the seqs",
        )
    workflow = parent.workflow
    path = parent.frame.flow_path
    for node_id, changes in (patches or {}).items():
        if index_for(workflow).node(path, node_id) is None:
            raise IllegalTransition(
                f"the patch names node {node_id!r}, which flow {'/'.join(path)} does not have"
            )
        workflow = patch_node(workflow, path, node_id, changes)
    return replace(
        parent,
        workflow=workflow,
        globals={**parent.globals, **(variables or {})},
        breakpoints=[],
        status=RunStatus.LOADED,
        pause_requested=False,
        max_nodes=parent.max_nodes
        if max_nodes is None
        else (parent.nodes_completed + max_nodes if max_nodes else 0),
    )
