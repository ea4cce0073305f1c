"""The debugger's commands on real runs: breakpoints, pause, stop, live changes, rewind, fork —
each state transition, and the illegal ones (a clear error, nothing changed). Time travel and
breakpoints run with the log in SQLite and in PostgreSQL (the same engine, the same tests)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Runner, counter, flow, node, postgres_database, wait_for
from weboter.runtime.core.loader import to_workflow
from weboter.runtime.engine.client import JobRejected
from weboter.runtime.engine.handle import RunHandle, through_engine, through_log
from weboter.runtime.errors import WeboterError
from weboter.runtime.store.eventlog import EventLog
from weboter.runtime.store.location import log_location
from weboter.runtime.store.postgres import close_pools
from weboter.runtime.store.projection import state_at
from weboter.schemas.context import NodeModifications
from weboter.schemas.state import Breakpoint, RunState
from weboter.schemas.workflow import Node

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def backend(request: pytest.FixtureRequest) -> str:
    return str(getattr(request, "param", "sqlite"))


@pytest.fixture
def db_path(backend: str, tmp_path: Path) -> Iterator[Path]:
    """SQLite; and PostgreSQL for the tests marked `on_both` (time travel, breakpoints)."""
    if backend == "sqlite":
        yield tmp_path / "weboter.db"
        return
    yield log_location(postgres_database(), home=tmp_path)
    close_pools()


on_both = pytest.mark.parametrize("backend", ["sqlite", "postgresql"], indirect=True)


def state(runner: Runner, run_id: str) -> RunState:
    log = EventLog(runner.db_path)
    try:
        return state_at(log, run_id)
    finally:
        log.close()


def logged(runner: Runner, run_id: str, type_: str, count: int, timeout: float = 10) -> None:
    """Wait until the log holds `count` events of `type_` for the run (polls the log)."""

    def enough() -> bool:
        log = EventLog(runner.db_path)
        try:
            return sum(e.type == type_ for e in log.read_stored(run_id)) >= count
        finally:
            log.close()

    wait_for(enough, f"{count} {type_} of run {run_id}", timeout)


def load(runner: Runner, wf: dict[str, Any]) -> str:
    return runner.client.submit(to_workflow(wf, "t"), start=None)


def handle(runner: Runner, run_id: str) -> RunHandle:
    return RunHandle(run_id, through_engine(runner.client))


def set_bp(runner: Runner, run_id: str, **fields: Any) -> None:
    bp = Breakpoint(id=fields.pop("id", "b1"), **fields)
    handle(runner, run_id).set_breakpoint(bp)


@on_both
def test_break_before_and_after_a_node_then_continue(runner: Runner) -> None:
    client = runner.client
    run_id = load(runner, counter())
    set_bp(runner, run_id, id="before-done", when="before", node_id="done")
    set_bp(runner, run_id, id="after-init", when="after", node_id="init")
    client.cont(run_id)
    assert client.wait(run_id, timeout=10).status == "PAUSED"
    paused = state(runner, run_id)
    assert paused.current_node == "inc"
    assert paused.globals["count"] == 0
    client.cont(run_id)
    assert client.wait(run_id, timeout=10).status == "PAUSED"
    assert state(runner, run_id).current_node == "done"
    assert state(runner, run_id).globals["count"] == 5
    client.cont(run_id)
    assert client.wait(run_id, timeout=10).status == "COMPLETED"


def test_condition_and_once_breakpoints(runner: Runner) -> None:
    client = runner.client
    run_id = load(runner, counter(limit=6))
    set_bp(runner, run_id, id="three", when="condition", condition="count >= 3", once=True)
    client.cont(run_id)
    assert client.wait(run_id, timeout=10).status == "PAUSED"
    hit = state(runner, run_id)
    assert hit.globals["count"] == 3
    assert hit.breakpoints == []  # `once`: gone after the hit
    client.cont(run_id)
    assert client.wait(run_id, timeout=10).status == "COMPLETED"


def test_breakpoint_at_the_first_node_stops_before_anything_runs(runner: Runner) -> None:
    run_id = load(runner, counter())
    set_bp(runner, run_id, when="before", node_id="init")
    runner.client.cont(run_id)
    assert runner.client.wait(run_id, timeout=10).status == "PAUSED"
    assert state(runner, run_id).nodes_completed == 0


def test_error_breakpoint_waits_then_a_fixed_variable_lets_it_go_on(runner: Runner) -> None:
    wf = flow(
        node(
            "parse",
            "data.JsonParse",
            "EndFlow",
            inputs={"text": "$global{text}"},
            outputs=[{"src": "data", "pos": "global"}],
        )
    )
    client = runner.client
    run_id = client.submit(to_workflow(wf, "t"), variables={"text": "{broken"}, start=None)
    set_bp(runner, run_id, when="error")
    client.cont(run_id)
    ended = client.wait(run_id, timeout=10)
    assert ended.status == "ERROR"
    assert ended.error is not None
    assert "not JSON" in ended.error.message
    handle(runner, run_id).set_variable("text", '{"ok": 1}', "global")
    client.cont(run_id)  # from ERROR: the failed node runs again
    assert client.wait(run_id, timeout=10).status == "COMPLETED"
    assert state(runner, run_id).globals["data"] == {"ok": 1}


def test_pause_at_the_next_node_boundary_and_stop_cancels_within_a_second(runner: Runner) -> None:
    client = runner.client
    run_id = client.submit(to_workflow(counter(limit=1000, nap=0.02), "t"))
    logged(runner, run_id, "NodeCompleted", 3)  # it runs: pause it now
    handle(runner, run_id).pause()
    assert client.wait(run_id, timeout=10).status == "PAUSED"
    paused = state(runner, run_id)
    assert 0 < paused.globals["count"] < 1000
    assert paused.pause_reason == "requested"

    slow = client.submit(
        to_workflow(flow(node("zz", "SleepFor", "EndFlow", inputs={"duration": 30})), "t")
    )
    logged(runner, slow, "RunStarted", 1)  # started: its node is in flight or about to be
    started = time.monotonic()
    client.stop(slow)
    assert client.wait(slow, timeout=10).status == "STOPPED"
    assert time.monotonic() - started < 1.0
    client.stop(run_id)  # a paused run can be stopped too
    assert client.wait(run_id, timeout=10).status == "STOPPED"


def test_live_changes_are_events(runner: Runner) -> None:
    client = runner.client
    run_id = load(runner, counter(limit=3))
    set_bp(runner, run_id, when="before", node_id="done")
    client.cont(run_id)
    assert client.wait(run_id, timeout=10).status == "PAUSED"
    run = handle(runner, run_id)
    run.set_variable("note", "hi", "global")
    # the node first, then the edge to it (a patch that names no node is refused)
    run.add_node(
        Node(
            id="extra",
            action="builtin.SetData",
            control="builtin.EndFlow",
            inputs={"key": "$global{extra}", "value": "$global{note}"},
        )
    )
    run.patch(
        "done",
        NodeModifications(
            inputs={"key": "$global{done}", "value": "patched"},
            params={"next_node": "extra"},
            control="NextNode",
        ),
    )
    client.cont(run_id)
    assert client.wait(run_id, timeout=10).status == "COMPLETED"
    final = state(runner, run_id)
    assert final.globals["done"] == "patched"
    assert final.globals["extra"] == "hi"
    log = EventLog(runner.db_path)
    types = [r.type for r in log.read(run_id)]
    log.close()
    assert {"VariableSet", "NodePatched", "NodeAdded", "BreakpointSet"} <= set(types)


@on_both
def test_jump_to_another_node(runner: Runner) -> None:
    client = runner.client
    run_id = load(runner, counter(limit=50))
    set_bp(runner, run_id, when="before", node_id="nap")
    client.cont(run_id)
    client.wait(run_id, timeout=10)
    handle(runner, run_id).clear_breakpoint("b1")
    handle(runner, run_id).jump("done")
    client.cont(run_id)
    assert client.wait(run_id, timeout=10).status == "COMPLETED"
    final = state(runner, run_id)
    assert final.globals["count"] == 1
    assert final.globals["done"] is True


@on_both
def test_rewind_goes_back_and_runs_again_from_there(runner: Runner) -> None:
    client = runner.client
    run_id = load(runner, counter(limit=4))
    set_bp(runner, run_id, when="before", node_id="done")
    client.cont(run_id)
    assert client.wait(run_id, timeout=10).status == "PAUSED"
    log = EventLog(runner.db_path)
    records = list(log.read(run_id))
    log.close()
    second_inc = [r for r in records if getattr(r.event, "node_id", None) == "inc"][1]
    handle(runner, run_id).rewind(second_inc.seq)
    rewound = state(runner, run_id)
    assert rewound.status == "PAUSED"
    assert rewound.globals["count"] == 2
    assert rewound.current_node == "nap"
    client.cont(run_id)
    assert client.wait(run_id, timeout=10).status == "PAUSED"  # the breakpoint again
    assert state(runner, run_id).globals["count"] == 4
    log = EventLog(runner.db_path)
    versions = [r.run_version for r in log.read(run_id)]
    log.close()
    assert versions == list(range(1, len(versions) + 1))  # history only grows


@on_both
def test_fork_at_an_event_with_a_changed_variable(runner: Runner) -> None:
    client = runner.client
    parent = client.submit(to_workflow(counter(limit=5), "t"))
    assert client.wait(parent, timeout=10).status == "COMPLETED"
    log = EventLog(runner.db_path)
    parent_events = list(log.read(parent))
    log.close()
    third = [r for r in parent_events if getattr(r.event, "node_id", None) == "inc"][2]
    child = client.fork(parent, third.seq, variables={"count": 10})
    assert client.wait(child, timeout=10).status == "COMPLETED"
    log = EventLog(runner.db_path)
    child_events = list(log.read(child))
    assert [r.seq for r in log.read(parent)] == [r.seq for r in parent_events]  # untouched
    log.close()
    first = child_events[0].event
    assert first.parent_run == parent  # type: ignore[union-attr]
    assert first.parent_seq == third.seq  # type: ignore[union-attr]
    done = state(runner, child)
    assert done.globals["count"] == 10  # set by the fork; nap then sends it to done
    # the fork did not redo the parent's first nodes
    assert [getattr(r.event, "node_id", None) for r in child_events[1:4]] == [None, "nap", "done"]


def test_illegal_commands_change_nothing(runner: Runner) -> None:
    client = runner.client
    done = client.submit(to_workflow(counter(limit=1), "t"))
    assert client.wait(done, timeout=10).status == "COMPLETED"
    loaded = load(runner, counter())
    refusals = {
        "set on a finished run": lambda: handle(runner, done).set_variable("x", 1),
        "break on a finished run": lambda: handle(runner, done).set_breakpoint(Breakpoint(id="x")),
        "break at no node": lambda: handle(runner, loaded).set_breakpoint(
            Breakpoint(id="x", node_id="nowhere")
        ),
        "clear an unknown breakpoint": lambda: handle(runner, loaded).clear_breakpoint("nope"),
        "jump to no node": lambda: handle(runner, loaded).jump("nowhere"),
        "patch no node": lambda: handle(runner, loaded).patch(
            "nowhere", NodeModifications(params={})
        ),
        "rewind into the future": lambda: handle(runner, loaded).rewind(10**9),
    }
    log = EventLog(runner.db_path)
    before = log.last_seq()
    for why, act in refusals.items():
        with pytest.raises(JobRejected):
            act()
        assert log.last_seq() == before, why
    end = log.last_seq(done)
    log.close()
    with pytest.raises(JobRejected, match="already ended"):
        client.fork(done, end)
    with pytest.raises(JobRejected, match="beyond the log"):
        client.fork(done, 10**9)


def test_pause_of_a_run_that_is_not_running_is_refused(runner: Runner) -> None:
    client = runner.client
    loaded = load(runner, counter())
    with pytest.raises(JobRejected, match="is LOADED"):
        handle(runner, loaded).pause()
    client.stop(loaded)
    assert client.wait(loaded, timeout=10).status == "STOPPED"
    client.cont(loaded)  # a stopped run does not start again
    ended = client.wait(loaded, timeout=10)
    assert ended.status == "REJECTED"
    assert ended.error is not None
    assert "STOPPED" in ended.error.message


@on_both
def test_the_run_handle_drives_steps_forks_and_says_when_it_cannot(runner: Runner) -> None:
    """One handle for every verb: step, step over, continue, fork, stop through the engine;
    a handle on the log alone refuses to drive, saying what to do."""
    run = handle(runner, load(runner, counter()))
    assert run.step(timeout=30).status == "PAUSED"
    assert run.step_over(timeout=30).status == "PAUSED"
    at = state(runner, run.run_id).seq
    child = run.fork(at, start=None)
    assert child.run_id != run.run_id and state(runner, child.run_id).status == "LOADED"
    run.cont()
    assert run.wait(timeout=30).status == "COMPLETED"
    child.stop()
    assert child.wait(timeout=30).status == "STOPPED"
    offline = RunHandle(run.run_id, through_log(runner.db_path))
    with pytest.raises(WeboterError, match="an engine must drive it"):
        offline.step()
