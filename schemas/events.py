"""Events: the facts of a run, appended to the log by the State Manager only.

Every event is a frozen, tagged Struct; `Event` is their union, so one decoder reads any of
them. The log row carries `type` (the tag) and `schema_version` (`SCHEMA_VERSIONS`). To change
an event: add fields with defaults; for anything else bump its version and register an
upcaster (runtime/store/upcast.py) — old rows are upcast when read, never rewritten.
"""

from __future__ import annotations

import typing
from typing import Any, Literal

import msgspec

from weboter.schemas.context import ErrorContext, NodeModifications, RepairAction
from weboter.schemas.state import Breakpoint, BrowserState, ItemOf, RunState
from weboter.schemas.workflow import Node, Workflow


class _Event(msgspec.Struct, frozen=True, tag=True, omit_defaults=True):
    pass


class RunCreated(_Event, frozen=True):
    """LOADED. `variables` are the run's initial `$global` scope (e.g. `--var K=V`)."""

    run_id: str
    workflow: Workflow
    variables: dict[str, Any] = {}
    parent_run: str | None = None
    parent_seq: int | None = None
    source: str = ""  # where the workflow came from (a path), for people
    initial_state: RunState | None = None  # a fork: the parent's state at parent_seq, changed
    max_nodes: int = 0  # the node budget: the run fails once it completed this many (0: none)
    client: str = ""  # CURVE public key of the client that asked for it ("": the engine's host)
    on_error: str = ""  # what a failing node does unless it says: fail ("") | pause | ...
    # the browser evidence its steps keep: none | on_error | every_node ("": the runner's own),
    # set by the engine that made it, so a worker or an engine that takes it over keeps it too
    evidence: str = ""
    # an item run: made by a FanOut node of another run (runtime/core/items.py), driven by
    # that run's fan-out — not taken up on its own after an engine restart
    item_of: ItemOf | None = None


class RunStarted(_Event, frozen=True):
    """LOADED/PAUSED -> RUNNING (mode "continuous") or STEPPING (mode "step"). A step over
    a SubFlow node (`over_depth`) runs the whole sub-flow and pauses back at that depth."""

    mode: Literal["continuous", "step"] = "continuous"
    over_depth: int | None = None


class RunResumed(_Event, frozen=True):
    """A run whose process died is taken up again; its in-flight node will run again."""

    reason: str = "crash"
    mode: Literal["continuous", "step"] = "continuous"


class RunQueued(_Event, frozen=True):
    """-> QUEUED: the engine has `max_runs` runs in progress, so this one waits in its FIFO
    queue (a run submitted, resumed or continued); it starts (RunStarted, or RunResumed
    after an engine restart) when a run in progress rests. `ahead`: runs queued before it."""

    ahead: int = 0


class NodeCompleted(_Event, frozen=True):
    """An action ran and its control chose `next_node`. Values are redacted (secrets)."""

    node_id: str
    flow_path: list[str]
    next_node: str
    outputs: dict[str, Any] = {}
    flow_vars: dict[str, Any] = {}  # variables written into this flow's scope
    global_vars: dict[str, Any] = {}  # variables written into the global scope
    loop_count: int | None = None  # the control's new loop counter for this node, if any
    attempts: int = 1
    duration_ms: float = 0.0
    inputs: dict[str, Any] = {}
    evidence: dict[str, str] = {}  # artifact hashes (screenshot, dom, storage), url, title
    elements: list[dict[str, Any]] = []  # fingerprints of the elements acted on
    browser: BrowserState | None = None  # a browser node: the page and storage after it
    action: str = ""  # the action that ran (the node's as it stood then: patches change it)
    worker: str = ""  # the worker process that ran it (`weboter worker`; "": the engine itself)


class NodeAttemptFailed(_Event, frozen=True):
    """An attempt failed and the retry policy will try again."""

    node_id: str
    error: ErrorContext


class BrowserRestored(_Event, frozen=True):
    """The run's browser came back (fork, rewind, resume, another process) before `node_id`:
    how (`captured` state or `redrive`), how long it took, and how the page differs from the
    recorded one (none: it matched; else a NodeFailed RestoreMismatch follows)."""

    node_id: str
    mode: str
    differences: list[str] = []
    fallback: list[str] = []  # why captured state was not used (auto mode)
    duration_ms: float = 0.0


class NodeRequeued(_Event, frozen=True):
    """The worker process running `node_id` was lost (`reason`: its heartbeats stopped, it
    went away): the node runs again on another worker, the run's browser put back there from
    the log. Its result, whichever worker sends it, is recorded once."""

    node_id: str
    worker: str
    reason: str


class SubFlowEntered(_Event, frozen=True):
    """A SubFlow node called `flow_path[-1]` with `variables` as its `$flow` scope."""

    node_id: str
    flow_path: list[str]
    start_node: str
    variables: dict[str, Any] = {}
    global_vars: dict[str, Any] = {}


class SubFlowReturned(_Event, frozen=True):
    """The called flow ended; its caller node completed with `outputs` and went on."""

    node_id: str
    flow_path: list[str]
    next_node: str
    outputs: dict[str, Any] = {}
    flow_vars: dict[str, Any] = {}
    global_vars: dict[str, Any] = {}
    loop_count: int | None = None


class NodeFailed(_Event, frozen=True):
    """RUNNING/STEPPING -> ERROR: a node failed after all attempts."""

    node_id: str
    error: ErrorContext
    action: str = ""  # the action that failed (the node's as it stood then), when one ran
    worker: str = ""  # the worker process it failed on ("": the engine itself)
    inputs: dict[str, Any] = {}  # its inputs as resolved, when they were (secrets as markers)
    duration_ms: float = 0.0  # how long its attempts took


# RunPaused.reason when `weboter serve` stops: it parks the runs it drives, and takes them up
# again when it starts on the same log (a pause nobody asked for; runtime/store/runs.py)
ENGINE_STOPPED = "the engine stopped"


class RunPaused(_Event, frozen=True):
    """-> PAUSED (after a step, at a breakpoint, on request, or parked by a stopping engine:
    `ENGINE_STOPPED`)."""

    reason: str = "step"
    breakpoint: str | None = None  # the breakpoint that was hit (a `once` one is removed)


class PauseRequested(_Event, frozen=True):
    """Somebody asked a RUNNING run to pause: it pauses at the next node boundary (the node in
    flight finishes first), whichever process drives it."""

    reason: str = "requested"


class BreakpointSet(_Event, frozen=True):
    breakpoint: Breakpoint


class BreakpointCleared(_Event, frozen=True):
    id: str


class VariableSet(_Event, frozen=True):
    """A person (or an AI) changed a variable of a run (at rest, or running: from the next
    node on)."""

    name: str
    value: Any = None
    scope: Literal["flow", "global"] = "flow"


class NodePatched(_Event, frozen=True):
    """A node of the run's workflow was changed (inputs, control, params, action)."""

    flow_path: list[str]
    node_id: str
    changes: NodeModifications


class NodeAdded(_Event, frozen=True):
    flow_path: list[str]
    node: Node


class SessionOpened(_Event, frozen=True):
    """The run is an agent's session: each act is a node added to it; at the end of its nodes
    it pauses (reason "session") instead of completing."""

    name: str = ""


class SessionEnded(_Event, frozen=True):
    """The session takes no more acts: at the end of its nodes the run completes."""


class JumpedTo(_Event, frozen=True):
    """The run goes on at another node of the current flow."""

    node_id: str


class NodeInputsOverridden(_Event, frozen=True):
    """A pre_node_execute hook handler gave the current node other inputs, for this run of it."""

    node_id: str
    inputs: dict[str, Any]


class RunRewound(_Event, frozen=True):
    """A paused run went back to the state right after event `to_seq`; it goes on from there."""

    to_seq: int
    state: RunState
    # the changes to its workflow it undoes ("node read patched", "node extra added")
    undone: list[str] = []


class RunCompleted(_Event, frozen=True):
    """-> COMPLETED: the root flow reached `__end__` or a node returned `__exit__`."""

    end: str = "__end__"


class RunFailed(_Event, frozen=True):
    """-> FAILED."""

    error: ErrorContext


class RunStopped(_Event, frozen=True):
    """-> STOPPED, on request."""

    reason: str = ""


class RepairSuggested(_Event, frozen=True):
    """A repair proposed for the run (not applied): by the `healer`, a `model` or a
    `person`, with its reason and how sure the source is (0..1). `held`: why it was not
    applied and waits for a person ("needs approval: it changes the action ..."; the run's
    `waiting_for` says it until the run moves on)."""

    node_id: str
    source: str
    action: RepairAction
    confidence: float = 0.0
    held: str = ""


class RepairApplied(_Event, frozen=True):
    """A repair carried out (the events it made follow it): by the `healer`, a `model`, a
    `person` or the node's `policy` (on_error)."""

    node_id: str
    source: str
    action: RepairAction


class RepairRejected(_Event, frozen=True):
    """A suggested repair turned down, and why."""

    node_id: str
    source: str
    action: RepairAction
    reason: str = ""


class RepairRequested(_Event, frozen=True):
    """The failed node's on_error policy (`ai`) asked the model for a repair: `attempt` of the
    policy's `attempts` at this node (a resumed run counts on from here)."""

    node_id: str
    attempt: int
    attempts: int


class RunWaiting(_Event, frozen=True):
    """A run in ERROR waits for a person, and why (its on_error policy has done all it may)."""

    node_id: str
    reason: str


Event = (
    RunCreated
    | RunStarted
    | RunResumed
    | RunQueued
    | NodeCompleted
    | NodeAttemptFailed
    | BrowserRestored
    | NodeRequeued
    | SubFlowEntered
    | SubFlowReturned
    | NodeFailed
    | RunPaused
    | RunCompleted
    | RunFailed
    | RunStopped
    | BreakpointSet
    | BreakpointCleared
    | VariableSet
    | NodePatched
    | NodeAdded
    | SessionOpened
    | SessionEnded
    | JumpedTo
    | RunRewound
    | NodeInputsOverridden
    | PauseRequested
    | RepairSuggested
    | RepairApplied
    | RepairRejected
    | RepairRequested
    | RunWaiting
)

EVENT_TYPES: dict[str, type[_Event]] = {cls.__name__: cls for cls in typing.get_args(Event)}

# The current schema version of each event type. Bump with an upcaster, never in place.
SCHEMA_VERSIONS: dict[str, int] = dict.fromkeys(EVENT_TYPES, 1)


def event_type(event: Event) -> str:
    return type(event).__name__


class EventRecord(msgspec.Struct, frozen=True):
    """An event as stored: its place in the log and the event itself."""

    seq: int
    run_id: str
    run_version: int
    type: str
    schema_version: int
    command_id: str
    recorded_at: float
    event: Event
