"""Hooks: `pre_node_execute`, `post_node_execute`, `on_node_error`.

Every hook is published on the event stream (topic `hook.<run_id>.<name>`, payload a msgpack
map) for any subscriber. Handlers registered through the Python API run in the executor, in
order, before a node is sent to a runner; one may veto the node (it fails with kind "Vetoed")
or give it other inputs for this execution. Both are recorded as events.

    engine = Engine(settings)
    engine.hooks.register("pre_node_execute", lambda hook: HookDecision(veto="not today")
                          if hook.node_id == "pay" else None)
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

log = logging.getLogger(__name__)

HookName = Literal["pre_node_execute", "post_node_execute", "on_node_error"]


@dataclass(frozen=True)
class PreNode:
    """What a `pre_node_execute` handler sees: the node about to run, and the variables."""

    run_id: str
    node_id: str
    flow_path: list[str]
    action: str
    inputs: dict[str, Any]
    variables: dict[str, Any]


@dataclass(frozen=True)
class HookDecision:
    veto: str | None = None  # a reason: the node does not run, it fails (kind "Vetoed")
    inputs: dict[str, Any] | None = None  # inputs for this execution instead of the node's


Handler = Callable[[PreNode], HookDecision | None]


@dataclass
class HookRegistry:
    handlers: list[Handler] = field(default_factory=list)

    def register(self, name: HookName, handler: Handler) -> None:
        if name != "pre_node_execute":
            raise ValueError(
                f"{name} is published on the bus; only pre_node_execute takes "
                "handlers that can change what happens (subscribe to the others)"
            )
        self.handlers.append(handler)

    def decide(self, hook: PreNode) -> HookDecision | None:
        """The first handler's veto, or the inputs after every handler's changes."""
        inputs: dict[str, Any] | None = None
        for handler in self.handlers:
            current = hook if inputs is None else PreNode(**{**hook.__dict__, "inputs": inputs})
            try:
                decision = handler(current)
            except Exception:
                log.exception("pre_node_execute handler %r failed; ignored", handler)
                continue
            if decision is None:
                continue
            if decision.veto is not None:
                return decision
            if decision.inputs is not None:
                inputs = decision.inputs
        return HookDecision(inputs=inputs) if inputs is not None else None
