"""ERROR is a state a run recovers from: a failing node's `on_error` policy (fail, pause,
retry, skip), and repairs from outside (retry, skip, patch, set variables, jump, abort), each
an event — on real runs of one engine."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Runner, flow, node
from weboter.runtime.core.loader import to_workflow
from weboter.runtime.engine.client import JobRejected
from weboter.runtime.engine.handle import RunHandle, through_engine
from weboter.runtime.store.eventlog import EventLog
from weboter.runtime.store.projection import state_at
from weboter.runtime.store.verify import diff
from weboter.schemas.context import NodeModifications, RepairAction
from weboter.schemas.events import NodeFailed, RepairApplied, RepairRejected, RepairSuggested

pytestmark = pytest.mark.timeout(60)


def needs_n(**more: Any) -> dict[str, Any]:
    """a: reads $global{n}, which nobody set (the node fails) -> b -> end."""
    return flow(
        node(
            "a",
            "PyEvalAction",
            inputs={"expr": "param1 + 1", "param1": "$global{n}"},
            outputs=[{"src": "result", "name": "total", "pos": "global"}],
            params={"next_node": "b"},
            **more,
        ),
        node("b", "SetData", "EndFlow", inputs={"key": "$global{b_ran}", "value": True}),
    )


def events(runner: Runner, run_id: str) -> list[Any]:
    log = EventLog(runner.db_path)
    try:
        return [r.event for r in log.read(run_id)]
    finally:
        log.close()


def repair(runner: Runner, run_id: str, kind: str, **fields: Any) -> Any:
    action = RepairAction(kind=kind, **fields)  # type: ignore[arg-type]
    return RunHandle(run_id, through_engine(runner.client)).repair(action)


def test_a_failing_node_fails_the_run_unless_a_policy_says_else(runner: Runner) -> None:
    assert runner.run(needs_n()).state.status == "FAILED"


def test_paused_in_error_a_run_is_fixed_and_retried(runner: Runner) -> None:
    run_id = runner.client.submit(to_workflow(needs_n(), "t"), on_error="pause")
    ended = runner.client.wait(run_id, timeout=20)
    assert ended.status == "ERROR" and ended.error is not None and "n" in ended.error.message
    RunHandle(run_id, through_engine(runner.client)).set_variable("n", 4, "global")
    fixed = repair(runner, run_id, "retry", reason="n was missing")
    assert fixed.status == "PAUSED"  # recorded; it goes on when continued
    runner.client.cont(run_id)
    assert runner.client.wait(run_id, timeout=20).status == "COMPLETED"
    found = events(runner, run_id)
    applied = [e for e in found if isinstance(e, RepairApplied)]
    assert [(e.source, e.action.kind, e.node_id) for e in applied] == [("person", "retry", "a")]
    log = EventLog(runner.db_path)
    try:
        final = state_at(log, run_id)
    finally:
        log.close()
    assert final.globals["total"] == 5 and final.globals["b_ran"] is True


def test_a_node_that_says_skip_is_skipped_and_its_control_decides(runner: Runner) -> None:
    outcome = runner.run(needs_n(on_error="skip"))
    assert outcome.state.status == "COMPLETED"
    found = events(runner, outcome.run_id)
    applied = [e for e in found if isinstance(e, RepairApplied)]
    assert [(e.source, e.action.kind) for e in applied] == [("policy", "skip")]
    assert outcome.state.globals["b_ran"] is True and "total" not in outcome.state.globals


def test_retry_attempts_are_bounded(runner: Runner) -> None:
    outcome = runner.run(needs_n(on_error={"do": "retry", "attempts": 2}))
    assert outcome.state.status == "FAILED"
    found = events(runner, outcome.run_id)
    assert sum(isinstance(e, NodeFailed) for e in found) == 3  # the first failure + 2 retries
    assert sum(isinstance(e, RepairApplied) for e in found) == 2


def test_repairs_patch_set_jump_abort_and_refusals(runner: Runner) -> None:
    run_id = runner.client.submit(to_workflow(needs_n(), "t"), on_error="pause")
    assert runner.client.wait(run_id, timeout=20).status == "ERROR"
    stale = RepairAction(kind="retry")
    with pytest.raises(JobRejected, match="moved on"):
        RunHandle(run_id, through_engine(runner.client)).repair(stale, expect_version=1)
    with pytest.raises(JobRejected, match="invalid"):
        repair(runner, run_id, "patch", modifications=NodeModifications(control="Nope"))
    with pytest.raises(JobRejected, match="no node"):
        repair(runner, run_id, "jump", target_node="nowhere")
    # a suggestion and a rejection are records only
    suggested = RepairAction(kind="set_variables", variables={"n": 1}, reason="n is unset")
    run = RunHandle(run_id, through_engine(runner.client))
    run.suggest(suggested, 0.8)
    run.reject(suggested, "wrong value")
    patched = repair(
        runner,
        run_id,
        "patch",
        # merged into the node's inputs: its param1 ($global{n}, unset) removed by a null
        modifications=NodeModifications(inputs={"expr": "41 + 1", "param1": None}),
    )
    assert patched.status == "PAUSED"
    runner.client.cont(run_id)
    assert runner.client.wait(run_id, timeout=20).status == "COMPLETED"
    found = events(runner, run_id)
    assert any(isinstance(e, RepairSuggested) and e.confidence == 0.8 for e in found)
    assert any(isinstance(e, RepairRejected) and e.reason == "wrong value" for e in found)
    # abort: a run in ERROR fails with its error
    other = runner.client.submit(to_workflow(needs_n(), "t"), on_error="pause")
    assert runner.client.wait(other, timeout=20).status == "ERROR"
    assert repair(runner, other, "abort").status == "FAILED"
    with pytest.raises(JobRejected, match="only a run in ERROR or PAUSED"):
        repair(runner, other, "retry")


def test_set_variables_then_jump(runner: Runner) -> None:
    run_id = runner.client.submit(to_workflow(needs_n(), "t"), on_error="pause")
    assert runner.client.wait(run_id, timeout=20).status == "ERROR"
    assert repair(runner, run_id, "set_variables", variables={"n": 9}).status == "PAUSED"
    assert repair(runner, run_id, "jump", target_node="b").status == "PAUSED"
    runner.client.cont(run_id)
    assert runner.client.wait(run_id, timeout=20).status == "COMPLETED"


def test_diff_shows_where_one_run_was_repaired_and_the_other_not(runner: Runner) -> None:
    skipped = runner.run(needs_n(on_error="skip"))
    given = runner.run(needs_n(on_error="skip"), variables={"n": 1})
    log = EventLog(runner.db_path)
    try:
        compared = diff(log, skipped.run_id, given.run_id)
    finally:
        log.close()
    first = compared.steps[0]
    assert first["node_a"] == "a" and "repairs" in first["changes"]
    assert first["changes"]["repairs"]["a"][0].startswith("policy: skip")
    assert first["changes"]["repairs"]["b"] == []
