"""FanOut: a sub-flow over a list, each item a run of its own, `at_once` at a time."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Runner, flow, item_run, node, wait_for, weboter
from weboter.runtime.actions import default_catalog
from weboter.runtime.core.loader import to_workflow
from weboter.runtime.core.references import EnvSource
from weboter.runtime.core.validate import validate
from weboter.runtime.engine.engine import Engine
from weboter.runtime.engine.handle import RunHandle, through_engine
from weboter.runtime.engine.settings import Settings
from weboter.runtime.store.eventlog import EventLog
from weboter.runtime.store.projection import state_at
from weboter.runtime.store.reading import Reader
from weboter.schemas.events import RunCompleted, RunCreated, RunStarted

pytestmark = pytest.mark.timeout(60)


def squares(items: Any, *, at_once: int = 3, sub_nodes: list[dict] | None = None) -> dict:
    """A workflow: FanOut `items` through sub-flow `square` ($flow{n} -> $flow{sq} = n*n),
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
        "FanOut",
        "EndFlow",
        inputs={
            "flow_id": "square",
            "items": items,
            "item": "n",
            "at_once": at_once,
            "data_in": [
                {"src": "$global{label}", "dst": "label", "value": "-"},
                {"src": "$global{d}", "dst": "$global{d}", "value": 1},
            ],
            "data_out": [{"src": "$flow{sq}", "dst": "sq"}, {"src": "$flow{n}", "dst": "n"}],
        },
        outputs=[{"src": "results", "name": "squares", "pos": "global"}],
    )
    return flow(each, sub_flows=[square])


def _item_runs(runner: Runner, parent: str, count: int) -> list[str]:
    found = [item_run(runner.db_path, parent, i) for i in range(count)]
    assert all(found), found
    return [run for run in found if run]


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
    failed_run = item_run(runner.db_path, outcome.run_id, 1)
    assert f"item 2 (run {failed_run}) ended FAILED" in error.message
    assert "1 of 3 items did not complete (1 did, 1 not started)" in error.message


def _divide() -> list[dict]:
    return [
        node(
            "calc",
            "PyEvalAction",
            "EndFlow",
            inputs={"expr": "param1 // param2", "param1": "$flow{n}", "param2": "$global{d}"},
            outputs=[{"src": "result", "name": "sq"}],
        )
    ]


def test_a_repaired_item_goes_on_and_completed_items_are_kept(runner: Runner) -> None:
    """Item 1 fails (its run waits in ERROR: on_error pause), so does the node; set the
    variable in that item run and in the parent, continue the parent: the fan-out continues
    the same item run, keeps item 0's result, and makes item 2."""
    workflow = squares([10, 20, 30], at_once=1, sub_nodes=_divide())
    client = runner.client
    run_id = client.submit(to_workflow(workflow, "test"), variables={"d": 0}, on_error="pause")
    # d = 0 fails every item: item 0 first
    ended = client.wait(run_id, timeout=30)
    assert ended.status == "ERROR"
    assert ended.error is not None and ended.error.kind == "ItemsFailed"
    first = item_run(runner.db_path, run_id, 0)
    assert first is not None
    for target in (first, run_id):
        RunHandle(target, through_engine(client, 10)).set_variable("d", 5, "global")
    client.cont(run_id)
    ended = client.wait(run_id, timeout=30)
    assert ended.status == "COMPLETED", ended.error
    with Reader(runner.db_path) as reader:
        state = reader.state(run_id)
        assert reader.state(first).status == "COMPLETED"  # the same item run, continued
        assert item_run(runner.db_path, run_id, 0, 1) is None  # no new try
    assert [r["sq"] for r in state.globals["squares"]] == [2, 4, 6]


def test_stopping_the_parent_stops_its_items_in_flight(runner: Runner) -> None:
    slow = [node("nap", "SleepFor", "EndFlow", inputs={"duration": 30})]
    client = runner.client
    run_id = client.submit(to_workflow(squares([1, 2, 3, 4], at_once=2, sub_nodes=slow), "t"))

    def napping() -> list[str]:
        found = [item_run(runner.db_path, run_id, i) for i in (0, 1)]
        with Reader(runner.db_path) as reader:
            running = all(r and reader.state(r).status == "RUNNING" for r in found)
        return [r for r in found if r] if running else []

    first, second = wait_for(napping, "two items napping", 30)
    client.stop(run_id)
    assert client.wait(run_id, timeout=30).status == "STOPPED"
    with Reader(runner.db_path) as reader:
        wait_for(lambda: reader.state(first).status == "STOPPED", "item 0 stopped", 30)
        assert reader.state(second).status == "STOPPED"
        assert item_run(runner.db_path, run_id, 2) is None  # never made


def test_an_engine_that_stops_mid_fan_out_leaves_items_for_the_parent(db_path: Path) -> None:
    """`pause_driven` (what `serve` does when it stops) pauses the parent, not its item runs;
    the next engine continues the parent, whose fan-out drives the same item runs on."""
    slow = [
        node("nap", "SleepFor", inputs={"duration": 0.4}, params={"next_node": "calc"}),
        *_divide(),
    ]
    workflow = to_workflow(squares([10, 20, 30, 40], at_once=2, sub_nodes=slow), "t")
    first = Runner(db_path)
    try:
        run_id = first.client.submit(workflow)

        def two_started() -> list[str]:
            found = [item_run(db_path, run_id, i) for i in (0, 1)]
            return [r for r in found if r] if all(found) else []

        started = wait_for(two_started, "two items started", 30)
        assert first.engine.pause_driven("engine stopped") == [run_id]
    finally:
        first.close()
    with Reader(db_path) as reader:
        assert reader.state(run_id).status == "PAUSED"
        assert all(reader.state(r).status != "PAUSED" for r in started)
    second = Runner(db_path)
    try:
        second.client.cont(run_id)
        ended = second.client.wait(run_id, timeout=30)
        assert ended.status == "COMPLETED", ended.error
    finally:
        second.close()
    with Reader(db_path) as reader:
        assert [r["sq"] for r in reader.state(run_id).globals["squares"]] == [10, 20, 30, 40]
    items = _item_runs(second, run_id, 4)
    assert items[:2] == started  # the same item runs went on
    with Reader(db_path) as reader:
        for run in items:  # each completed once
            assert reader.state(run).status == "COMPLETED"
    assert item_run(db_path, run_id, 0, 1) is None


def test_an_item_run_forked_is_a_run_of_its_own(runner: Runner) -> None:
    """Forked at its first event with another divisor, an item run runs again on its own: the
    fork is no item (nothing drives it but its client; serve would take it up)."""
    outcome = runner.run(squares([6], sub_nodes=_divide()), variables={"d": 2})
    assert outcome.ended.status == "COMPLETED", outcome.ended.error
    item = item_run(runner.db_path, outcome.run_id, 0)
    assert item is not None
    with Reader(runner.db_path) as reader:
        first = reader.first_seq(item)
    fork = runner.client.fork(item, first, variables={"d": 3})
    assert runner.client.wait(fork, timeout=30).status == "COMPLETED"
    with Reader(runner.db_path) as reader:
        state = reader.state(fork)
        assert state.item_of is None
        assert state.frames[0].vars["sq"] == 2  # 6 // 3, the item's n with the fork's d


def test_weboter_run_shows_each_item_as_it_ends(tmp_path: Path) -> None:
    """The progress of a fan-out on the terminal: a line per item run that ends."""
    wf = tmp_path / "fan.json"
    wf.write_text(json.dumps(squares([1, 2, 3], at_once=2)))
    done = weboter("run", str(wf), home=tmp_path)
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stderr.splitlines() if "[item " in line]
    assert len(lines) == 3 and all("completed" in line for line in lines)
    assert sorted(line.split("]")[0] for line in lines) == ["  [item 1", "  [item 2", "  [item 3"]
    assert "(3 ended)" in lines[-1]
    runs = json.loads(weboter("runs", "--json", home=tmp_path).stdout)
    parent = next(r["run_id"] for r in runs if not r["source"].startswith("item "))
    item = next(r["run_id"] for r in runs if r["source"].startswith("item 2 "))
    shown = json.loads(weboter("state", item, "--json", home=tmp_path).stdout)
    assert (shown["item_of"]["run"], shown["item_of"]["index"]) == (parent, 1)


def test_a_fan_out_reached_again_runs_its_items_anew(runner: Runner) -> None:
    """A loop back to the FanOut node (another visit) makes new item runs for the new list,
    never the first visit's results again."""
    workflow = squares("$global{list}")
    each = workflow["nodes"][0]
    each["control"], each["params"] = "NextNode", {"next_node": "bump"}
    workflow["nodes"] += [
        node(
            "bump",
            "PyEvalAction",
            "IfElse",
            inputs={"expr": "param1 + 1", "param1": "$global{round}"},
            outputs=[{"src": "result", "name": "round", "pos": "global"}],
            params={"var": "$global{round}", "operator": "lt", "value": 2}
            | {"then_node": "swap", "else_node": "__end__"},
        ),
        node(
            "swap",
            "SetData",
            inputs={"key": "$global{list}", "value": [10, 20]},
            params={"next_node": "each"},
        ),
    ]
    outcome = runner.run(workflow, variables={"list": [1, 2], "round": 0})
    assert outcome.ended.status == "COMPLETED", outcome.ended.error
    assert [r["sq"] for r in outcome.state.globals["squares"]] == [100, 400]
    with Reader(runner.db_path) as reader:
        assert reader.children(outcome.run_id) == []  # item runs are not forks


@pytest.mark.parametrize(
    ("inputs", "where", "said"),
    [
        ({"items": "abc"}, "inputs.items", "items must be a list, got str"),
        ({"items": {"a": 1}}, "inputs.items", "items must be a list, got dict"),
        ({"at_once": 0}, "inputs.at_once", "from 1 to 64"),
        ({"at_once": "three"}, "inputs.at_once", "from 1 to 64"),
        ({"data_in": [{"src": "$env{shop.password}", "dst": "pw"}]}, "inputs.data_in", "$env"),
        ({"flow_id": "nope"}, "inputs.flow_id", "no sub-flow 'nope'"),
    ],
)
def test_validate_finds_what_a_fan_out_node_says_wrong(
    inputs: dict[str, Any], where: str, said: str
) -> None:
    workflow = squares([1, 2])
    workflow["nodes"][0]["inputs"].update(inputs)
    findings = validate(to_workflow(workflow, "t"), default_catalog())
    errors = [f for f in findings if f.severity == "error"]
    assert len(errors) == 1 and errors[0].path.endswith(where), errors
    assert said in errors[0].message


def test_validate_lets_references_through() -> None:
    workflow = squares("$global{list}")
    workflow["nodes"][0]["inputs"]["at_once"] = "$global{n}"
    findings = validate(to_workflow(workflow, "t"), default_catalog())
    assert not [f for f in findings if f.severity == "error"]


def test_a_fan_out_under_one_run_slot_does_not_wait_for_itself(db_path: Path) -> None:
    """With --max-runs 1 the parent gives up its slot while it waits for its items, which take
    it one after the other; the parent takes it back for its next node."""
    engine = Engine(Settings(db_path=db_path, max_runs=1), env=EnvSource({}, use_os=False))
    engine.start()
    try:
        with engine.client() as client:
            run_id = client.submit(to_workflow(squares([1, 2, 3], at_once=3), "t"))
            ended = client.wait(run_id, timeout=60)
    finally:
        engine.stop()
    assert ended.status == "COMPLETED", ended.error
    with Reader(db_path) as reader:
        assert [r["sq"] for r in reader.state(run_id).globals["squares"]] == [1, 4, 9]
    items = [item_run(db_path, run_id, i) for i in range(3)]
    log = EventLog(db_path)
    try:
        queued = [r for r in log.read() if r.run_id in items and r.type == "RunQueued"]
    finally:
        log.close()
    assert queued  # items waited for the one slot, and got it
