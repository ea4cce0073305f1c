"""The state of a run: what `fold` builds from events. Snapshots persist it (msgpack)."""

from __future__ import annotations

from typing import Any, Literal

import msgspec

from weboter.schemas.context import ErrorContext
from weboter.schemas.status import RunStatus
from weboter.schemas.workflow import Workflow

__all__ = ["Breakpoint", "BrowserState", "Frame", "RestoreReport", "RunState", "RunStatus"]


class Breakpoint(msgspec.Struct, frozen=True, omit_defaults=True):
    """Where a running run pauses: before/after a node, when a condition over the variables
    holds (a safe expression; names are the flow's and the global variables), or on error."""

    id: str
    when: Literal["before", "after", "condition", "error"] = "before"
    node_id: str | None = None
    condition: str | None = None
    once: bool = False


class BrowserState(msgspec.Struct, frozen=True, omit_defaults=True):
    """Enough to put a run's browser back: the current page's URL and, as an artifact hash,
    its snapshot: cookies, local storage, every tab's URL, changed form fields, scroll and text
    fingerprint, the active tab, and what could not be captured (runtime/browser/snapshot.py)."""

    url: str = ""
    storage: str = ""


class ItemOf(msgspec.Struct, frozen=True, omit_defaults=True):
    """Where an item run comes from (a FanOut node, runtime/core/items.py): run `run`'s node
    `node` (in flow `flow_path`), item `index` of its list (0-based; shown + 1), its
    `attempt`-th try."""

    run: str
    node: str
    index: int
    flow_path: list[str] = []
    attempt: int = 0
    arrived: int = 0  # the version at which the parent arrived at the node (its visit)


class RestoreReport(msgspec.Struct, frozen=True, omit_defaults=True):
    """How a run's browser came back in a runner that had none for it, and whether the page
    matched the recorded one (`differences` empty)."""

    mode: str  # captured | redrive: what was finally used
    differences: list[str] = []  # how the page differs from the recorded one
    fallback: list[str] = []  # why captured state was not used (auto mode fell back to redrive)
    duration_ms: float = 0.0


class Frame(msgspec.Struct, frozen=True, omit_defaults=True):
    """One active flow. The root flow is frame 0; a `SubFlow` node pushes one."""

    flow_path: list[str]
    cursor: str | None  # the next node to run in this flow; None once the flow has ended
    vars: dict[str, Any] = {}
    caller: str | None = None  # the SubFlow node in the frame below that called this flow
    loops: dict[str, int] = {}  # LoopUntil node id -> times looped back since entered


class RunState(msgspec.Struct, frozen=True, omit_defaults=True):
    run_id: str
    workflow: Workflow
    status: RunStatus = RunStatus.LOADED
    version: int = 0  # run_version of the last event applied
    seq: int = 0  # global seq of the last event applied
    globals: dict[str, Any] = {}
    frames: list[Frame] = []
    prev_outputs: dict[str, Any] = {}
    nodes_completed: int = 0
    error: ErrorContext | None = None
    parent_run: str | None = None
    parent_seq: int | None = None
    updated_at: float = 0.0
    breakpoints: list[Breakpoint] = []
    browser: BrowserState | None = None  # the last browser node's page and storage
    pause_reason: str = ""
    next_inputs: dict[str, Any] | None = None  # a hook's inputs for the current node, once
    step_depth: int | None = None  # stepping over: pause only back at this many frames
    node_version: int = 0  # the version at which the run arrived at its current node
    pause_requested: bool = False  # pause at the next node boundary (PauseRequested)
    max_nodes: int = 0  # the node budget (RunCreated); 0: none
    on_error: str = ""  # a failing node's default policy (RunCreated.on_error; "": fail)
    evidence: str = ""  # the browser evidence its steps keep (RunCreated.evidence)
    # why the run waits for a person (a suggested repair held back: "needs approval: ..."),
    # until it moves on or the suggestion is applied or rejected
    waiting_for: str = ""
    # on_error attempts (policy retries, model asks) used at the current node since the run
    # arrived at it: events, so a resumed or forked run counts on where it was
    recoveries: int = 0
    # an agent's session (SessionOpened): at the end of its nodes the run pauses, waiting for
    # the next act, instead of completing; SessionEnded lets it complete
    session: bool = False
    # an item run (a FanOut's, runtime/core/items.py): where it comes from
    item_of: ItemOf | None = None

    @property
    def frame(self) -> Frame:
        return self.frames[-1]

    @property
    def current_node(self) -> str | None:
        return self.frames[-1].cursor if self.frames else None
