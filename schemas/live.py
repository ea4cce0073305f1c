"""The commands a debugger (a person, the CLI, an MCP client, the AI gateway) sends about one
run: breakpoints, variables, node patches, jumps, rewinds, and repairs of a run in ERROR.
Each is decided by runtime/core/changes.py or runtime/core/repair.py, and is one or more events.
"""

from __future__ import annotations

from typing import Any, Literal

from weboter.schemas.base import Mode, _Command
from weboter.schemas.context import NodeModifications, RepairAction
from weboter.schemas.state import Breakpoint
from weboter.schemas.workflow import Node


class SetBreakpoint(_Command, frozen=True):
    breakpoint: Breakpoint


class ClearBreakpoint(_Command, frozen=True):
    id: str


class SetVariable(_Command, frozen=True):
    name: str
    value: Any = None
    scope: Literal["flow", "global"] = "flow"


class PatchNode(_Command, frozen=True):
    """`changes` to a node: its `inputs` and `params` merged into the node's own (a key given
    as null is removed; a new action or control takes the given ones only), or, with
    `replace`, the given maps instead of the node's."""

    node_id: str
    changes: NodeModifications
    flow_path: list[str] = []  # default: the current flow
    replace: bool = False


class AddNode(_Command, frozen=True):
    node: Node
    flow_path: list[str] = []


class OpenSession(_Command, frozen=True):
    """Make a LOADED run an agent's session (SessionOpened)."""

    name: str = ""


class EndSession(_Command, frozen=True):
    """A session takes no more acts (SessionEnded)."""


class JumpTo(_Command, frozen=True):
    node_id: str


class Rewind(_Command, frozen=True):
    """Take a paused run back to the state right after event `to_seq` (global seq)."""

    to_seq: int


class ApplyRepair(_Command, frozen=True):
    """Repair a run in ERROR (or at a pause): retry / skip the failed node, patch a node, set
    variables, jump, or abort — recorded as RepairApplied, then the events it makes. `mode`:
    drive on at once; None: it rests PAUSED (continue later). `expect_version`: applied only
    if the run is still where the caller saw it."""

    action: RepairAction
    source: str = "person"  # healer | model | person | policy
    mode: Mode | None = None
    expect_version: int | None = None


class SuggestRepair(_Command, frozen=True):
    """Record a repair proposed for the run (RepairSuggested); nothing else changes."""

    action: RepairAction
    source: str = "model"
    confidence: float = 0.0


class RejectRepair(_Command, frozen=True):
    """Record that a suggested repair was turned down (RepairRejected), and why."""

    action: RepairAction
    source: str = "person"
    reason: str = ""
