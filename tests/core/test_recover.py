"""A failed node's on_error policy, decided by the decider from events alone (core/recover.py).

No engine: commands are decided on states folded from the decisions' own events, so what a
resumed run (a state read back from its log) does is what these states do.
"""

from __future__ import annotations

from typing import Any

import pytest

from weboter.runtime.actions import default_catalog
from weboter.runtime.core.decide import Command, Decider
from weboter.runtime.core.decision import Decision
from weboter.runtime.core.fold import apply
from weboter.runtime.core.loader import to_workflow
from weboter.runtime.core.references import EnvSource
from weboter.schemas.context import ErrorContext, RepairAction
from weboter.schemas.events import BreakpointSet, Event, RunCreated
from weboter.schemas.messages import (
    ApplyRepair,
    RecordNodeResult,
    StartRun,
    VetoNode,
)
from weboter.schemas.state import Breakpoint, RunState

pytestmark = pytest.mark.timeout(20)
ERR = ErrorContext(kind="ActionError", message="boom", node_id="a")


def run(on_error: Any = None, params: dict[str, Any] | None = None) -> RunState:
    """A run of nodes a -> b, LOADED; `a` has `on_error` and the control `params`."""
    a: dict[str, Any] = {
        "id": "a",
        "action": "SetData",
        "inputs": {"key": "x", "value": 1},
        "control": "NextNode",
        "params": params or {"next_node": "b"},
    }
    if on_error is not None:
        a["on_error"] = on_error
    b = {"id": "b", "action": "SetData", "inputs": {"key": "y", "value": 2}}
    wf = to_workflow({"id": "t", "name": "t", "start_node_id": "a", "nodes": [a, b]}, "t")
    return folded(None, [RunCreated(run_id="r", workflow=wf)])


def folded(state: RunState | None, events: list[Event]) -> RunState:
    """`events` applied as the log would hand them back (new seqs and versions)."""
    for event in events:
        version = (state.version if state else 0) + 1
        state = apply(state, event, seq=version, version=version, at=float(version))
    assert state is not None
    return state


DECIDER = Decider(default_catalog(), EnvSource({}, use_os=False))


def decide(state: RunState, command: Command) -> tuple[Decision, RunState]:
    """The decision, and the state read back from its events (as after a restart)."""
    decision = DECIDER.decide(state, command)
    return decision, folded(state, decision.events)


def common() -> dict[str, str]:
    return {"command_id": "c", "run_id": "r", "reply_to": ""}


def failure(state: RunState, node: str = "a") -> RecordNodeResult:
    return RecordNodeResult(
        **common(), version=state.version, node_id=node, flow_path=["t"], error=ERR
    )


def types(decision: Decision) -> list[str]:
    return [type(e).__name__ for e in decision.events]


def started(state: RunState, mode: str = "continuous") -> RunState:
    return decide(state, StartRun(**common(), mode=mode))[1]  # type: ignore[arg-type]


def test_by_default_a_failed_node_fails_the_run_in_the_same_command() -> None:
    decision, state = decide(started(run()), failure(started(run())))
    assert types(decision) == ["NodeFailed", "RunFailed"]
    assert state.status == "FAILED" and state.error == ERR


def test_retries_are_events_and_a_resumed_run_counts_on() -> None:
    state = started(run({"do": "retry", "attempts": 2}))
    decision, state = decide(state, failure(state))
    assert types(decision) == ["NodeFailed", "RepairApplied", "RunStarted"]
    assert (state.status, state.current_node, state.recoveries) == ("RUNNING", "a", 1)
    # the engine restarts: the run is resumed from its log, and counts on
    state = decide(state, StartRun(**common(), resume=True))[1]
    assert state.recoveries == 1
    state = decide(state, failure(state))[1]
    assert (state.status, state.recoveries) == ("RUNNING", 2)
    decision, state = decide(state, failure(state))
    assert types(decision) == ["NodeFailed", "RunFailed"]  # both attempts used


def test_a_retry_keeps_stepping_and_a_completed_node_starts_the_count_again() -> None:
    state = started(run({"do": "retry", "attempts": 1}), mode="step")
    state = decide(state, failure(state))[1]
    assert (state.status, state.recoveries) == ("STEPPING", 1)
    done = RecordNodeResult(**common(), version=state.version, node_id="a", flow_path=["t"])
    state = decide(state, done)[1]
    assert (state.status, state.current_node, state.recoveries) == ("PAUSED", "b", 0)


def test_a_veto_while_driven_goes_through_the_policy_too() -> None:
    state = started(run({"do": "retry", "attempts": 1}))
    decision, state = decide(state, VetoNode(**common(), node_id="a", reason="not now"))
    assert types(decision) == ["NodeFailed", "RepairApplied", "RunStarted"]


def test_skip_goes_on_and_a_skip_the_control_cannot_decide_fails_the_run_saying_why() -> None:
    state = started(run("skip"))
    decision, state = decide(state, failure(state))
    assert types(decision)[:3] == ["NodeFailed", "RepairApplied", "RunStarted"]
    assert "NodeCompleted" in types(decision) and state.current_node == "b"
    stuck = started(run("skip", params={"next_node": "$output{where}"}))
    decision, state = decide(stuck, failure(stuck))
    assert types(decision) == ["NodeFailed", "RunFailed"]  # the skip's events were undone
    assert state.error is not None and state.error.hint.startswith("on_error skip:")


def test_ai_asks_the_model_by_an_event_until_its_attempts_are_used_then_waits() -> None:
    state = started(run({"do": "ai", "attempts": 2}))
    decision, state = decide(state, failure(state))
    assert types(decision) == ["NodeFailed", "RepairRequested"]
    assert (state.status, state.recoveries) == ("ERROR", 1)
    # the model's repair: the node runs again, and fails again
    retry = RepairAction(kind="retry", node_id="a")
    model = ApplyRepair(**common(), action=retry, source="model", mode="continuous")
    state = decide(state, model)[1]
    assert state.recoveries == 1  # the model's own repair is not another attempt
    decision, state = decide(state, failure(state))
    assert types(decision)[-1] == "RepairRequested" and state.recoveries == 2
    state = decide(state, model)[1]
    decision, state = decide(state, failure(state))
    assert types(decision) == ["NodeFailed", "RunWaiting"]
    assert state.status == "ERROR"
    assert state.waiting_for == "the model's 2 attempt(s) at this node are used up"


@pytest.mark.parametrize("policy", ["pause", "heal"])
def test_pause_and_heal_wait_for_a_person(policy: str) -> None:
    state = started(run(policy))
    decision, state = decide(state, failure(state))
    assert types(decision) == ["NodeFailed"] and state.status == "ERROR"


def test_an_error_breakpoint_waits_whatever_the_policy() -> None:
    state = folded(run("skip"), [BreakpointSet(breakpoint=Breakpoint(id="e", when="error"))])
    state = started(state)
    decision, state = decide(state, failure(state))
    assert types(decision) == ["NodeFailed"] and state.status == "ERROR"


def test_a_node_that_fails_while_the_run_rests_is_not_recovered() -> None:
    """A person's repair of a resting run (no mode) is not driven: no policy acts."""
    state = started(run({"do": "ai", "attempts": 3}))
    state = decide(state, failure(state))[1]
    patch = ApplyRepair(**common(), action=RepairAction(kind="jump", target_node="zz"))
    with pytest.raises(Exception, match="no node"):
        decide(state, patch)
