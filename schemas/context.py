"""What clients (CLI, UI, MCP, AI) read about a run: snapshots, history, errors, repairs."""

from __future__ import annotations

from typing import Any, Literal

import msgspec

from weboter.schemas.status import RunStatus


class ErrorContext(msgspec.Struct, frozen=True, omit_defaults=True):
    """A failure, with what a person or an AI needs to act on it."""

    kind: str  # the exception class name, e.g. "ReferenceError", "ActionTimeout"
    message: str
    node_id: str | None = None
    flow_path: list[str] = []
    attempt: int = 1
    stack: str = ""
    hint: str = ""
    evidence: dict[str, str] = {}  # artifact hashes (screenshot, dom, storage), url, title
    # why a person must decide (a heal that would not choose: "not healed: two elements are
    # about as alike: ..."); the run's `waiting_for` while it waits in ERROR
    waiting_for: str = ""


class NodeHistory(msgspec.Struct, frozen=True, omit_defaults=True):
    """One executed node, as read back from the log."""

    seq: int
    node_id: str
    action: str
    flow_path: list[str]
    outputs: dict[str, Any]
    next_node: str
    duration_ms: float
    error: ErrorContext | None = None


class ContextSnapshot(msgspec.Struct, frozen=True, omit_defaults=True):
    """The unit clients read: a run at one point of its log."""

    job_id: str
    timestamp: float
    current_node: str | None
    variables: dict[str, Any]
    history: list[NodeHistory] = []
    status: RunStatus = RunStatus.IDLE
    seq: int = 0


class NodeModifications(msgspec.Struct, frozen=True, omit_defaults=True):
    """A change to one node; None leaves a field as it is."""

    inputs: dict[str, Any] | None = None
    control: str | None = None
    params: dict[str, Any] | None = None
    action: str | None = None


class RepairAction(msgspec.Struct, frozen=True, omit_defaults=True):
    """What to do about an error: retry, skip, patch a node, set variables, jump, or give up."""

    kind: Literal["retry", "skip", "patch", "set_variables", "jump", "abort"]
    node_id: str | None = None
    modifications: NodeModifications | None = None
    variables: dict[str, Any] = {}
    target_node: str | None = None
    reason: str = ""


class Healed(msgspec.Struct, frozen=True, omit_defaults=True):
    """The healer's find: the node's `inputs` with a locator that finds its element again
    (raw, references kept), chosen by `score` (0..1) against the fingerprints of the node's
    earlier successful runs, and confirmed by the action succeeding with it."""

    inputs: dict[str, Any]
    locator: dict[str, Any]
    score: float
    reason: str
