"""Messages between actors and clients (docs/protocol.md); `Message` decodes any of them.

Commands carry a `command_id` (idempotence: a duplicate produces no new events) and a
`reply_to` address (an actor name, or a client's socket identity).
"""

from __future__ import annotations

from typing import Any

import msgspec

from weboter.schemas.base import Mode, _Command, _Msg
from weboter.schemas.context import ErrorContext, Healed, NodeModifications
from weboter.schemas.live import (
    AddNode,
    ApplyRepair,
    ClearBreakpoint,
    EndSession,
    JumpTo,
    OpenSession,
    PatchNode,
    RejectRepair,
    Rewind,
    SetBreakpoint,
    SetVariable,
    SuggestRepair,
)
from weboter.schemas.page import LookAtPage, PageLooked
from weboter.schemas.slots import QueueRun, YieldSlot
from weboter.schemas.state import BrowserState, ItemOf, RestoreReport, RunState, RunStatus
from weboter.schemas.stream import CaughtUp, Ping, Pong
from weboter.schemas.workflow import Node, Workflow


class StoredEvent(msgspec.Struct, frozen=True, array_like=True):
    """An event as committed: its log row, payload still msgpack (encoded once, by the log)."""

    seq: int
    run_id: str
    run_version: int
    type: str
    schema_version: int
    command_id: str
    recorded_at: float
    payload: bytes


# --- intake (clients -> Launcher) -----------------------------------------------------------


class SubmitJob(_Msg, frozen=True):
    command_id: str
    workflow: Workflow
    reply_to: str
    variables: dict[str, Any] = {}
    source: str = ""
    start: Mode | None = "continuous"  # None: create the run (LOADED) and wait
    max_nodes: int | None = None  # the run's node budget; None: the engine's setting
    on_error: str | None = None  # a failing node's default (OnError.do); None: the engine's
    evidence: str | None = (
        None  # none | on_error | every_node (RunCreated.evidence); None: the engine's
    )
    env: dict[str, Any] = {}  # the run's `$env` values: kept in memory only, never logged
    client: str = ""  # set by the engine from the sender's CURVE key (a client's value is replaced)


class ForkJob(_Msg, frozen=True):
    """Start a new run from the state of `run_id` right after event `at_seq`, with changes."""

    command_id: str
    run_id: str
    at_seq: int
    reply_to: str
    variables: dict[str, Any] = {}  # set into the global scope
    patches: dict[str, NodeModifications] = {}  # node id -> changes (current flow)
    start: Mode | None = "continuous"
    max_nodes: int | None = None  # a new node budget; None: the parent's
    on_error: str | None = None  # None: the parent's
    env: dict[str, Any] = {}  # the fork's `$env` values (as SubmitJob.env)
    client: str = ""  # set by the engine (as SubmitJob.client)


class Stop(_Command, frozen=True):
    """Client -> executor: stop the run now; an in-flight action is cancelled."""

    reason: str = "requested"


class CancelNode(_Msg, frozen=True):
    """Executor -> Node Runner: cancel the run's in-flight action."""

    run_id: str


class ResumeJob(_Command, frozen=True):
    """Take up a run whose process died (or a paused one) and drive it on."""

    mode: Mode = "continuous"
    expect_version: int | None = None  # the version the resumer saw; another resume wins
    env: dict[str, Any] = {}  # `$env` values for the run from now on (as SubmitJob.env)


class JobAccepted(_Msg, frozen=True):
    command_id: str
    run_id: str


class CommandRejected(_Msg, frozen=True):
    command_id: str
    error: ErrorContext
    run_id: str = ""


# --- state-changing commands (-> State Manager) ---------------------------------------------


class CreateRun(_Msg, frozen=True):
    command_id: str
    run_id: str
    workflow: Workflow
    reply_to: str
    variables: dict[str, Any] = {}
    source: str = ""
    parent_run: str | None = None
    parent_seq: int | None = None
    initial_state: RunState | None = None  # a fork
    max_nodes: int = 0  # the run's node budget (0: none)
    client: str = ""  # who asked for the run (RunCreated.client)
    on_error: str = ""  # RunCreated.on_error
    evidence: str = ""  # RunCreated.evidence
    item_of: ItemOf | None = None  # RunCreated.item_of


class StartRun(_Command, frozen=True):
    mode: Mode = "continuous"
    resume: bool = False  # a crash resume: record RunResumed
    over: bool = False  # a step over: a SubFlow runs whole
    # optimistic concurrency: refused unless the run is still at this version (resume)
    expect_version: int | None = None
    queued: bool = False  # the executor starts a run it queued: only if it is still QUEUED


class RecordNodeResult(_Msg, frozen=True):
    """What a Node Runner did: what the action produced, or its error. Where that takes the
    run (its outputs mapped, its control's choice) the State Manager decides."""

    command_id: str
    run_id: str
    version: int  # the run_version the node was planned at (stale if the run moved on since)
    node_id: str
    flow_path: list[str]
    reply_to: str
    outputs: dict[str, Any] = {}
    flow_vars: dict[str, Any] = {}  # the variables the action wrote itself (not its outputs[])
    global_vars: dict[str, Any] = {}
    inputs: dict[str, Any] = {}
    attempts: int = 1
    failed_attempts: list[ErrorContext] = []
    error: ErrorContext | None = None
    duration_ms: float = 0.0
    secrets: dict[str, str] = {}  # reference -> value, for redaction only; never logged
    evidence: dict[str, str] = {}  # screenshot/dom/storage artifact hashes, url, title
    elements: list[dict[str, Any]] = []  # fingerprints of the elements the action acted on
    browser: BrowserState | None = None  # a browser node: the page and storage after it
    restored: RestoreReport | None = None  # the run's browser came back before this node
    healed: Healed | None = None  # the healer found the node's element again (on_error heal)
    worker: str = ""  # the worker process that ran it (set by the engine's broker, not the worker)


class RecordAttempt(_Msg, frozen=True):
    """Node Runner -> State Manager: one attempt of a node failed and it will be tried again
    (recorded at once, so a long retry shows in the log while it goes on). No reply."""

    command_id: str
    run_id: str
    version: int
    node_id: str
    error: ErrorContext
    secrets: dict[str, str] = {}  # for redaction only; never logged
    reply_to: str = ""


class FailRun(_Command, frozen=True):
    error: ErrorContext


class StopRun(_Command, frozen=True):
    reason: str = ""


class RequeueNode(_Command, frozen=True):
    """Broker -> State Manager: the worker running the run's current node was lost; the node
    goes to another worker (recorded as NodeRequeued). `reply_to` is empty: no answer."""

    node_id: str
    version: int
    worker: str
    reason: str


class VetoNode(_Command, frozen=True):
    """Executor -> State Manager: a hook handler vetoed the current node; it fails."""

    node_id: str
    reason: str


class OverrideInputs(_Command, frozen=True):
    node_id: str
    inputs: dict[str, Any]


class Hook(_Msg, frozen=True):
    """Executor -> Context Bus: publish a hook (topic `hook.<run_id>.<name>`)."""

    name: str
    run_id: str
    payload: dict[str, Any]


class HookInterest(_Msg, frozen=True):
    """Context Bus -> executors: somebody subscribes to hooks (or nobody does any more)."""

    active: bool


class PauseRun(_Command, frozen=True):
    """Any client -> State Manager: pause a RUNNING run at its next node boundary (the node
    in flight finishes first; recorded as PauseRequested, then RunPaused). `now`: pause at
    once (the process driving it is going away): the node in flight will run again."""

    reason: str = "requested"
    now: bool = False


class Committed(_Msg, frozen=True):
    """The events a command produced, committed, and where that leaves the run: its `status`,
    its `error` (ERROR/FAILED), why it waits (`waiting_for`), whether its on_error policy asks
    the model now (`ask_model`), and — when it is RUNNING or STEPPING — `plan`, the node to
    execute next (built by the State Manager from the state it folded, so a driver never
    folds, reads the log or decides anything itself)."""

    command_id: str
    run_id: str
    events: list[StoredEvent]
    duplicate: bool = False
    status: RunStatus = RunStatus.IDLE
    error: ErrorContext | None = None
    plan: ExecuteNode | None = None
    waiting_for: str = ""
    ask_model: bool = False  # ERROR: the failed node's policy asks the model (RepairRequested)


# --- driving (Launcher -> executors -> Node Runner) -----------------------------------------


class Drive(_Msg, frozen=True):
    """Launcher -> executor: drive this run (start it, or resume it after a crash)."""

    command_id: str
    run_id: str
    reply_to: str  # who hears about the run's end
    resume: bool = False
    expect_version: int | None = None  # resume only if the run is still at this version


class Step(_Command, frozen=True):
    """Run exactly one node of a LOADED or PAUSED run, then pause. `over`: a SubFlow node
    counts as one node (its whole sub-flow runs); otherwise a step goes into it. `resume`: a
    run whose process died is taken up (only if still at `expect_version`, when given)."""

    over: bool = False
    resume: bool = False
    expect_version: int | None = None


class ExecuteNode(_Msg, frozen=True):
    command_id: str
    run_id: str
    version: int
    node: Node
    flow_path: list[str]
    reply_to: str
    flow_vars: dict[str, Any] = {}
    globals: dict[str, Any] = {}
    prev_outputs: dict[str, Any] = {}
    loop_count: int = 0
    browser: BrowserState | None = None  # where to put the browser back if this runner has none
    arrived: int = 0  # the version at which the run arrived at this node (hooks ask once)
    heal: bool = False  # on_error heal: a locator that finds nothing is healed from history
    # with `heal`, for a runner without the log (a worker): the elements it acted on before
    fingerprints: list[dict[str, Any]] = []
    # `$env` values (by path) the run read in nodes the State Manager ran itself since its last
    # node sent to a runner: the runner redacts them too (screenshots, DOM, captured pages)
    secrets: dict[str, str] = {}
    allow_hosts: list[str] = []  # the workflow's allow_hosts: the only hosts it may reach
    evidence: str = ""  # the run's evidence policy (RunCreated.evidence; "": the runner's)
    # an item run of a FanOut: the run whose browser context its tabs may open in, while that
    # run has one in the same process (runtime/browser/host.py BrowserHost.lend)
    browser_of: str = ""


class ReleaseRun(_Msg, frozen=True):
    """Executor -> Node Runner: the run ended; close its browser context."""

    run_id: str


REJECTED = "REJECTED"  # RunEnded.status of a run that could not be driven at all


class RunEnded(_Msg, frozen=True):
    """Executor -> whoever asked to drive: the run reached a resting state (PAUSED or a
    terminal one), or "REJECTED" with the reason in `error` when it could not be driven."""

    run_id: str
    status: str
    error: ErrorContext | None = None


# --- the event stream (Context Bus) ---------------------------------------------------------


class Publish(_Msg, frozen=True):
    """State Manager -> Context Bus: committed events, in seq order. `prev_seqs[run]` is that
    run's last seq before the first of its events here (0: none)."""

    events: list[StoredEvent]
    prev_seqs: dict[str, int] = {}


class CatchUp(_Msg, frozen=True):
    """Ask for committed events with seq > `after_seq` (of one run, or all)."""

    reply_to: str
    after_seq: int = 0
    run_id: str | None = None
    batch: int = 500


class EventBatch(_Msg, frozen=True):
    """A catch-up answer: committed events in seq order (`done`: the last batch)."""

    events: list[CaughtUp]
    done: bool = False
    last_seq: int = 0


class Shutdown(_Msg, frozen=True):
    reason: str = ""


class AskRepair(_Msg, frozen=True):
    """Executor -> AI Gateway: a node under `on_error: ai` failed; ask the model for a repair
    and apply it (ApplyRepair, answered to `reply_to`), or say why not (RepairDeclined)."""

    run_id: str
    reply_to: str
    mode: Mode = "continuous"


class RepairDeclined(_Msg, frozen=True):
    """AI Gateway -> executor: no repair was applied; the run waits in ERROR (`reason`)."""

    run_id: str
    reason: str


Message = (
    SubmitJob
    | ForkJob
    | Stop
    | CancelNode
    | SetBreakpoint
    | ClearBreakpoint
    | SetVariable
    | PatchNode
    | AddNode
    | OpenSession
    | EndSession
    | JumpTo
    | Rewind
    | PauseRun
    | VetoNode
    | OverrideInputs
    | Hook
    | HookInterest
    | ResumeJob
    | JobAccepted
    | CommandRejected
    | CreateRun
    | StartRun
    | QueueRun
    | YieldSlot
    | RecordNodeResult
    | RecordAttempt
    | FailRun
    | ApplyRepair
    | SuggestRepair
    | RejectRepair
    | StopRun
    | RequeueNode
    | Committed
    | Drive
    | Step
    | ExecuteNode
    | RunEnded
    | ReleaseRun
    | Publish
    | CatchUp
    | EventBatch
    | Ping
    | Pong
    | AskRepair
    | RepairDeclined
    | LookAtPage
    | PageLooked
    | Shutdown
)
