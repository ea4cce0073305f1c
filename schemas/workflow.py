"""The workflow model: the original Weboter format (docs/workflow-format.md) as Structs.

Persisted inside `RunCreated`, so the rules of schema evolution apply: new fields get
defaults, types never change, unknown fields are tolerated.
"""

from __future__ import annotations

from typing import Any, Literal

import msgspec

END = "__end__"
EXIT = "__exit__"
TERMINALS = frozenset({END, EXIT})

VarScope = Literal["flow", "global"]
Conversion = Literal["int", "float", "str", "bool"]


class OutputSpec(msgspec.Struct, frozen=True, omit_defaults=True):
    """Copy an action output (`src`) into a variable (`name`, default `src`) of scope `pos`."""

    src: str
    name: str | None = None
    pos: VarScope = "flow"
    cvt: Conversion | None = None

    @property
    def target(self) -> str:
        return self.name or self.src


class RetryPolicy(msgspec.Struct, frozen=True, omit_defaults=True):
    """*new*: run a failing action again, `attempts` times in all, waiting `backoff` seconds
    before the second attempt and multiplying the wait by `factor` after each one."""

    attempts: int = 1
    backoff: float = 0.0
    factor: float = 2.0


ON_ERROR = ("fail", "pause", "retry", "skip", "heal", "ai")


class OnError(msgspec.Struct, frozen=True, omit_defaults=True, forbid_unknown_fields=True):
    """*new*: what happens when the node fails (after its `retry` attempts): `fail` the run,
    `pause` it in ERROR (set/patch, then retry or skip), `retry` it up to `attempts` more
    times, `skip` it (its control decides with no outputs), `heal` a locator that finds
    nothing from the node's earlier runs (else pause), `ai`: ask the model for a repair (else
    pause). Written as a word (`on_error: skip`) or `{do: retry, attempts: 3}`."""

    do: str
    attempts: int = 1


class Node(msgspec.Struct, frozen=True, omit_defaults=True):
    id: str
    action: str = "builtin.EmptyAction"
    name: str = ""
    description: str = ""
    inputs: dict[str, Any] = {}
    outputs: list[OutputSpec] = []
    control: str = "builtin.NextNode"
    params: dict[str, Any] = {}
    log: str | None = None
    timeout: float | None = None  # *new*: seconds for the action, None = the action's own
    retry: RetryPolicy | None = None  # *new*
    on_error: OnError | str | None = None  # *new*: None = the run's policy (--on-error)


class Flow(msgspec.Struct, frozen=True, omit_defaults=True):
    """A flow; `sub_flows` have the same shape and are callable with `SubFlow`."""

    id: str
    name: str
    description: str = ""
    start_node_id: str | None = None
    nodes: list[Node] = []
    sub_flows: list[Flow] = []
    log: str | None = None
    # *new*: the only hosts the run's pages and HTTP actions may reach (the workflow's, not a
    # sub-flow's); empty: any the process running its nodes allows (runtime/core/hosts.py)
    allow_hosts: list[str] = []

    @property
    def start(self) -> str | None:
        """The first node: `start_node_id`, else (*fix*) the first node listed."""
        if self.start_node_id:
            return self.start_node_id
        return self.nodes[0].id if self.nodes else None

    def node(self, node_id: str) -> Node | None:
        for node in self.nodes:
            if node.id == node_id:
                return node
        return None


# The root of a workflow file is a flow.
Workflow = Flow
