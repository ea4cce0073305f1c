"""ForEach: a sub-flow over a list, each item a run of its own, `at_once` at a time."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Runner, flow, node
from weboter.runtime.core.items import item_run_id
from weboter.runtime.store.eventlog import EventLog
from weboter.runtime.store.projection import state_at
from weboter.schemas.events import RunCompleted, RunCreated, RunStarted

pytestmark = pytest.mark.timeout(60)


def squares(items: Any, *, at_once: int = 3, sub_nodes: list[dict] | None = None) -> dict:
    """A workflow: ForEach `items` through sub-flow `square` ($flow{n} -> $flow{sq} = n*n),
    its results into $global{squares}."""
    square = flow(
        *(
            sub_nodes
            or [
                node(
                    "calc",
                    "PyEvalAction",
                    "EndFlow",
                    inputs={"expr": "param1 * param1", "param1": "$flow{n}"},
                    outputs=[{"src": "result", "name": "sq"}],
                )
            ]
        ),
        id="square",
        name="square one",
    )
    each = node(
        "each",
        "ForEach",
        "EndFlow",
        inputs={
            "flow_id": "square",
            "items": items,
            "item": "n",
            "at_once": at_once,
            "data_in": [{"src": "$global{label}", "dst": "label", "value": "-"}],
            "data_out": [{"src": "$flow{sq}", "dst": "sq"}, {"src": "$flow{n}", "dst": "n"}],
        },
        outputs=[{"src": "results", "name": "squares", "pos": "global"}],
    )
    return flow(each, sub_flows=[square])


def _item_runs(runner: Runner, parent: str, count: int) -> list[str]:
    return [item_run_id(parent, ["f"], "each", i, 0) for i in range(count)]


def test_each_item_is_a_run_of_its_own_and_results_come_back_in_order(runner: Runner) -> None:
    outcome = runner.run(squares([1, 2, 3, 4, 5, 6, 7]), variables={"label": "x"})
    assert outcome.ended.status == "COMPLETED", outcome.ended.error
    assert outcome.state.globals["squares"] == [{"sq": n * n, "n": n} for n in range(1, 8)]
    log = EventLog(runner.db_path)
    try:
        for index, run_id in enumerate(_item_runs(runner, outcome.run_id, 7)):
            records = list(log.read(run_id))
            created = records[0].event
            assert isinstance(created, RunCreated)
            assert created.item_of is not None
            assert (created.item_of.run, created.item_of.index) == (outcome.run_id, index)
            assert isinstance(records[-1].event, RunCompleted)
            item = state_at(log, run_id)
            assert item.frames[0].vars["n"] == index + 1
            assert item.frames[0].vars["label"] == "x"  # data_in, the same for every item
    finally:
        log.close()


def test_no_more_than_at_once_items_run_at_a_time(runner: Runner) -> None:
    """Read from the log: between an item run's RunStarted and its RunCompleted, at most
    `at_once` item runs are in progress."""
    nap = [
        node("nap", "SleepFor", inputs={"duration": 0.05}, params={"next_node": "calc"}),
        node(
            "calc",
            "PyEvalAction",
            "EndFlow",
            inputs={"expr": "param1 * param1", "param1": "$flow{n}"},
            outputs=[{"src": "result", "name": "sq"}],
        ),
    ]
    outcome = runner.run(squares(list(range(8)), at_once=2, sub_nodes=nap))
    assert outcome.ended.status == "COMPLETED", outcome.ended.error
    ids = set(_item_runs(runner, outcome.run_id, 8))
    log = EventLog(runner.db_path)
    try:
        moments = [
            (r.seq, +1 if isinstance(r.event, RunStarted) else -1)
            for r in log.read()
            if r.run_id in ids and isinstance(r.event, RunStarted | RunCompleted)
        ]
    finally:
        log.close()
    in_progress = peak = 0
    for _seq, change in sorted(moments):
        in_progress += change
        peak = max(peak, in_progress)
    assert peak == 2
    assert len(moments) == 16


def test_an_empty_list_completes_with_no_results(runner: Runner) -> None:
    outcome = runner.run(squares([]))
    assert outcome.ended.status == "COMPLETED", outcome.ended.error
    assert outcome.state.globals["squares"] == []


def test_items_that_are_not_a_list_fail_the_node_saying_so(runner: Runner) -> None:
    outcome = runner.run(squares("$global{label}"), variables={"label": "x"})
    assert outcome.ended.status == "FAILED"
    assert outcome.ended.error is not None
    assert "items must be a list, got str" in outcome.ended.error.message


def test_a_failing_item_fails_the_node_naming_the_item_and_its_run(runner: Runner) -> None:
    bad = [
        node(
            "calc",
            "PyEvalAction",
            "EndFlow",
            inputs={"expr": "10 // param1", "param1": "$flow{n}"},
            outputs=[{"src": "result", "name": "sq"}],
        )
    ]
    outcome = runner.run(squares([1, 0, 2], at_once=1, sub_nodes=bad))
    assert outcome.ended.status == "FAILED"
    error = outcome.ended.error
    assert error is not None and error.kind == "ItemsFailed"
    failed_run = item_run_id(outcome.run_id, ["f"], "each", 1, 0)
    assert f"item 1 (run {failed_run}) ended FAILED" in error.message
    assert "1 of 3 items did not complete (1 did)" in error.message  # item 2 never started
