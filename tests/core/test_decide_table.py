"""The decider, pure and table-driven: every command in every status a run can have.

No engine, no sockets, no files: states are folded from events by hand, commands are decided,
and the table below (the one in runtime/core/decide.py's docstring) says which are allowed.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from weboter.runtime.actions import default_catalog
from weboter.runtime.core.decide import COMMANDS, Command, Decider
from weboter.runtime.core.fold import apply
from weboter.runtime.core.loader import to_workflow
from weboter.runtime.core.references import EnvSource
from weboter.runtime.errors import IllegalTransition
from weboter.schemas.context import ErrorContext, NodeModifications, RepairAction
from weboter.schemas.events import (
    BreakpointSet,
    Event,
    NodeFailed,
    RunCompleted,
    RunCreated,
    RunFailed,
    RunPaused,
    RunQueued,
    RunStarted,
    RunStopped,
)
from weboter.schemas.messages import (
    AddNode,
    ApplyRepair,
    ClearBreakpoint,
    CreateRun,
    EndSession,
    FailRun,
    JumpTo,
    OpenSession,
    OverrideInputs,
    PatchNode,
    PauseRun,
    QueueRun,
    RecordAttempt,
    RecordNodeResult,
    RejectRepair,
    RequeueNode,
    Rewind,
    SetBreakpoint,
    SetVariable,
    StartRun,
    StopRun,
    SuggestRepair,
    VetoNode,
)
from weboter.schemas.state import Breakpoint, RunState
from weboter.schemas.workflow import Node

WF = to_workflow(
    {
        "id": "t",
        "name": "table",
        "start_node_id": "a",
        "nodes": [
            {
                "id": "a",
                "action": "SetData",
                "inputs": {"key": "x", "value": 1},
                "control": "NextNode",
                "params": {"next_node": "b"},
            },
            {
                "id": "b",
                "action": "SetData",
                "inputs": {"key": "y", "value": 2},
                "control": "NextNode",
                "params": {"next_node": "__end__"},
            },
        ],
    },
    "t",
)
ERR = ErrorContext(kind="ActionError", message="boom", node_id="a")
BP = Breakpoint(id="bp", node_id="b")

# status -> the events after RunCreated and a breakpoint that put a run there
PATHS: dict[str, list[Event]] = {
    "LOADED": [],
    "QUEUED": [RunQueued(ahead=2)],
    "RUNNING": [RunStarted()],
    "STEPPING": [RunStarted(mode="step")],
    "PAUSED": [RunStarted(), RunPaused(reason="requested")],
    "ERROR": [RunStarted(), NodeFailed(node_id="a", error=ERR)],
    "COMPLETED": [RunStarted(), RunCompleted()],
    "FAILED": [RunStarted(), NodeFailed(node_id="a", error=ERR), RunFailed(error=ERR)],
    "STOPPED": [RunStarted(), RunStopped()],
}
RESTING = {"LOADED", "PAUSED", "ERROR"}
DRIVEN = {"RUNNING", "STEPPING"}
LIVE = RESTING | DRIVEN
ALL = set(PATHS)
NOT_ENDED = ALL - {"COMPLETED", "FAILED", "STOPPED"}
REPAIRABLE = {"PAUSED", "ERROR"}


def state_in(status: str) -> RunState:
    state: RunState | None = None
    events: list[Event] = [RunCreated(run_id="r", workflow=WF), BreakpointSet(breakpoint=BP)]
    for version, event in enumerate([*events, *PATHS[status]], start=1):
        state = apply(state, event, seq=version * 10, version=version, at=float(version))
    assert state is not None
    assert str(state.status) == status
    return state


def common(state: RunState) -> dict[str, str]:
    return {"command_id": "c", "run_id": state.run_id, "reply_to": ""}


Make = Callable[[RunState], Command]
TABLE: list[tuple[str, Make, set[str]]] = [
    ("start", lambda s: StartRun(**common(s)), RESTING),
    ("step", lambda s: StartRun(**common(s), mode="step"), RESTING),
    (
        "resume",
        lambda s: StartRun(**common(s), resume=True),
        {"LOADED", "PAUSED", "QUEUED"} | DRIVEN,
    ),
    ("start queued", lambda s: StartRun(**common(s), queued=True), {"QUEUED"}),
    ("queue", lambda s: QueueRun(**common(s)), RESTING),
    (
        "queue resumed",
        lambda s: QueueRun(**common(s), resume=True),
        {"LOADED", "PAUSED", "QUEUED"} | DRIVEN,
    ),
    (
        "record",
        lambda s: RecordNodeResult(**common(s), version=s.version, node_id="a", flow_path=["t"]),
        DRIVEN,
    ),
    (
        "attempt",
        lambda s: RecordAttempt(
            command_id="c", run_id=s.run_id, version=s.version, node_id="a", error=ERR
        ),
        DRIVEN,
    ),
    (
        "requeue",
        lambda s: RequeueNode(
            **common(s), node_id="a", version=s.version, worker="w", reason="gone"
        ),
        DRIVEN,
    ),
    ("veto", lambda s: VetoNode(**common(s), node_id="a", reason="no"), DRIVEN),
    ("override", lambda s: OverrideInputs(**common(s), node_id="a", inputs={}), DRIVEN),
    ("pause", lambda s: PauseRun(**common(s)), {"RUNNING", "QUEUED"}),
    ("break", lambda s: SetBreakpoint(**common(s), breakpoint=Breakpoint(id="x")), NOT_ENDED),
    ("unbreak", lambda s: ClearBreakpoint(**common(s), id="bp"), NOT_ENDED),
    ("set", lambda s: SetVariable(**common(s), name="n", value=3, scope="global"), LIVE),
    (
        "patch",
        lambda s: PatchNode(
            **common(s), node_id="b", changes=NodeModifications(inputs={"key": "z"})
        ),
        RESTING,
    ),
    (
        "add",
        lambda s: AddNode(
            **common(s),
            node=Node(
                id="c", name="c", action="SetData", inputs={"key": "c"}, params={"next_node": "b"}
            ),
        ),
        RESTING,
    ),
    ("jump", lambda s: JumpTo(**common(s), node_id="b"), RESTING),
    ("open session", lambda s: OpenSession(**common(s), name="agent"), {"LOADED"}),
    # these runs are no sessions: ending one is refused in every status (tests/core/test_session.py)
    ("end session", lambda s: EndSession(**common(s)), set()),
    ("rewind", lambda s: Rewind(**common(s), to_seq=10), RESTING),
    ("fail", lambda s: FailRun(**common(s), error=ERR), NOT_ENDED),
    ("stop", lambda s: StopRun(**common(s)), NOT_ENDED),
    ("repair", lambda s: ApplyRepair(**common(s), action=RepairAction(kind="retry")), REPAIRABLE),
    ("suggest", lambda s: SuggestRepair(**common(s), action=RepairAction(kind="skip")), ALL),
    ("reject", lambda s: RejectRepair(**common(s), action=RepairAction(kind="skip")), ALL),
]


@pytest.fixture(scope="module")
def decider() -> Decider:
    return Decider(default_catalog(), EnvSource({}), history=lambda run, seq: state_in("LOADED"))


def test_the_table_covers_every_command() -> None:
    covered = {type(make(state_in("LOADED"))) for _, make, _ in TABLE}
    assert covered | {CreateRun} == set(COMMANDS)


@pytest.mark.parametrize("status", sorted(PATHS))
@pytest.mark.parametrize(("name", "make", "allowed"), TABLE, ids=[t[0] for t in TABLE])
def test_command_in_status(
    decider: Decider, name: str, make: Make, allowed: set[str], status: str
) -> None:
    state = state_in(status)
    command = make(state)
    if status in allowed:
        decision = decider.decide(state, command)
        assert decision.events, f"{name} in {status} produced no events"
        assert decision.after.version == state.version + len(decision.events)
    else:
        with pytest.raises(IllegalTransition) as refused:
            decider.decide(state, command)
        assert refused.value.message  # one clear sentence, never an empty refusal
        assert state.run_id in refused.value.message or name in ("veto", "override", "attempt")


def test_create_only_once(decider: Decider) -> None:
    create = CreateRun(command_id="c", run_id="r", reply_to="", workflow=WF)
    assert decider.decide(None, create).after.status == "LOADED"
    with pytest.raises(IllegalTransition, match="already exists"):
        decider.decide(state_in("LOADED"), create)
    with pytest.raises(IllegalTransition, match="does not exist"):
        decider.decide(None, StopRun(command_id="c", run_id="r", reply_to=""))


def test_a_result_planned_before_the_run_moved_on_is_stale(decider: Decider) -> None:
    running = state_in("RUNNING")
    result = RecordNodeResult(
        **common(running), version=running.version, node_id="a", flow_path=["t"]
    )
    on_b = decider.decide(
        decider.decide(running, ClearBreakpoint(**common(running), id="bp")).after, result
    )
    with pytest.raises(IllegalTransition, match="stale"):
        decider.decide(on_b.after, result)  # the same node's result again: the run moved on
    # a breakpoint set meanwhile (by any process) moves the version, not the node: still valid
    moved = decider.decide(running, SetBreakpoint(**common(running), breakpoint=Breakpoint(id="z")))
    ok = RecordNodeResult(**common(running), version=running.version, node_id="a", flow_path=["t"])
    after = decider.decide(moved.after, ok).after
    assert after.status == "PAUSED"  # and the breakpoint before b is honoured
    assert after.current_node == "b"


def test_a_pause_request_pauses_at_the_next_node_boundary(decider: Decider) -> None:
    running = state_in("RUNNING")
    unbroken = decider.decide(running, ClearBreakpoint(**common(running), id="bp")).after
    asked = decider.decide(unbroken, PauseRun(**common(running))).after
    assert asked.status == "RUNNING"
    assert asked.pause_requested
    done = RecordNodeResult(**common(asked), version=running.version, node_id="a", flow_path=["t"])
    decision = decider.decide(asked, done)
    assert [type(e).__name__ for e in decision.events] == ["NodeCompleted", "RunPaused"]
    assert decision.after.pause_reason == "requested"
    assert not decision.after.pause_requested


def test_resume_is_refused_when_another_process_resumed_first(decider: Decider) -> None:
    running = state_in("RUNNING")
    seen = running.version
    first = decider.decide(running, StartRun(**common(running), resume=True, expect_version=seen))
    with pytest.raises(IllegalTransition, match="taken up by another process"):
        decider.decide(first.after, StartRun(**common(running), resume=True, expect_version=seen))


def test_a_pause_request_on_the_last_node_lets_the_run_end(decider: Decider) -> None:
    running = state_in("RUNNING")
    unbroken = decider.decide(running, ClearBreakpoint(**common(running), id="bp")).after
    on_b = decider.decide(
        unbroken,
        RecordNodeResult(
            **common(unbroken),
            version=unbroken.version,
            node_id="a",
            flow_path=["t"],
        ),
    ).after
    asked = decider.decide(on_b, PauseRun(**common(on_b))).after
    done = RecordNodeResult(
        **common(asked),
        version=asked.version,
        node_id="b",
        flow_path=["t"],
    )
    decision = decider.decide(asked, done)
    # the engine's own steps come first: nothing is left to pause before
    assert [type(e).__name__ for e in decision.events] == ["NodeCompleted", "RunCompleted"]
