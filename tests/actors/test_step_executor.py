"""The Step Executor runs exactly one node per Step command, then the run is PAUSED."""

from __future__ import annotations

import pytest

from tests.conftest import Runner, flow, node
from weboter.runtime.core.loader import to_workflow
from weboter.runtime.store.eventlog import EventLog
from weboter.runtime.store.projection import state_at

pytestmark = pytest.mark.timeout(60)


def test_one_node_per_step_until_completed(runner: Runner) -> None:
    wf = to_workflow(
        flow(
            node(
                "a", "SetData", inputs={"key": "$global{a}", "value": 1}, params={"next_node": "b"}
            ),
            node("b", "SubFlow", inputs={"flow_id": "s"}, params={"next_node": "c"}),
            node("c", "SetData", "EndFlow", inputs={"key": "$global{c}", "value": 3}),
            sub_flows=[
                flow(
                    node("x", "SetData", "EndFlow", inputs={"key": "$global{x}", "value": 2}),
                    id="s",
                )
            ],
        ),
        "t",
    )
    client = runner.client
    run_id = client.submit(wf, start=None)
    seen = []
    for _ in range(10):
        ended = client.step(run_id, timeout=10)
        log = EventLog(runner.db_path)
        state = state_at(log, run_id)
        log.close()
        seen.append((ended.status, state.current_node, dict(state.globals)))
        if ended.status == "COMPLETED":
            break
    assert seen == [
        ("PAUSED", "b", {"a": 1}),  # stopped before the SubFlow node ...
        ("PAUSED", "x", {"a": 1}),  # ... which stepped into the sub-flow's first node
        ("PAUSED", "c", {"a": 1, "x": 2}),  # x ran, the sub-flow returned, c is next
        ("COMPLETED", "__end__", {"a": 1, "x": 2, "c": 3}),
    ]


def test_step_on_a_finished_run_is_refused(runner: Runner) -> None:
    outcome = runner.run(flow(node("a", control="EndFlow")))
    ended = runner.client.step(outcome.run_id, timeout=10)
    assert ended.status == "REJECTED"
    assert ended.error is not None
    assert "not allowed" in ended.error.message


def test_step_over_a_sub_flow_runs_it_whole(runner: Runner) -> None:
    wf = to_workflow(
        flow(
            node(
                "a", "SetData", inputs={"key": "$global{a}", "value": 1}, params={"next_node": "b"}
            ),
            node("b", "SubFlow", inputs={"flow_id": "s"}, params={"next_node": "c"}),
            node("c", "SetData", "EndFlow", inputs={"key": "$global{c}", "value": 3}),
            sub_flows=[
                flow(
                    node(
                        "x",
                        "SetData",
                        inputs={"key": "$global{x}", "value": 2},
                        params={"next_node": "y"},
                    ),
                    node("y", "SetData", "EndFlow", inputs={"key": "$global{y}", "value": 2}),
                    id="s",
                )
            ],
        ),
        "t",
    )
    client = runner.client
    run_id = client.submit(wf, start=None)
    assert client.step(run_id, over=True, timeout=10).status == "PAUSED"  # a ran
    assert client.step(run_id, over=True, timeout=10).status == "PAUSED"  # b: x and y ran
    log = EventLog(runner.db_path)
    state = state_at(log, run_id)
    log.close()
    assert state.current_node == "c"
    assert state.globals == {"a": 1, "x": 2, "y": 2}
    assert len(state.frames) == 1
    assert client.step(run_id, over=True, timeout=10).status == "COMPLETED"
