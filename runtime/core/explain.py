"""What the next node will do, for a person or a model looking at a run at rest (PAUSED,
STEPPING, LOADED, ERROR): the node, its action and what that does, and its inputs resolved
against the run's variables as they are now — `$env{...}` left as the reference (no secret is
read here). An input that does not resolve yet says why."""

from __future__ import annotations

from typing import Any

from weboter.runtime.core.catalog import Catalog
from weboter.runtime.core.flows import index_for
from weboter.runtime.core.references import EnvSource, Resolver, display
from weboter.runtime.errors import WeboterError
from weboter.schemas.state import RunState


class _References(EnvSource):
    """An environment that answers every `$env{name}` with its own reference."""

    def get(self, path: str) -> Any:
        return f"$env{{{path}}}"


def next_step(state: RunState, catalog: Catalog) -> dict[str, Any] | None:
    """The run's next node with its inputs resolved now; None when it is at no node."""
    if not state.frames or state.status.terminal:
        return None
    node = index_for(state.workflow).node(state.frame.flow_path, state.current_node or "")
    if node is None:
        return None
    spec = catalog.find_action(node.action)
    resolver = Resolver(
        _References({}, use_os=False),
        globals_=state.globals,
        flow=state.frame.vars,
        prev=state.prev_outputs,
    )
    inputs: dict[str, Any] = {}
    for key, value in (state.next_inputs or node.inputs).items():
        try:
            inputs[key] = display(resolver.resolve(value, f"inputs.{key}"))
        except WeboterError as exc:
            inputs[key] = f"(does not resolve yet: {exc.message})"
    return {
        "node_id": node.id,
        "action": node.action,
        "does": spec.doc if spec is not None else "",
        "inputs": inputs,
        "control": node.control,
        "params": display(node.params),
    }
