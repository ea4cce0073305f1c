"""Stretches of inline nodes: the State Manager runs a loop of data nodes itself, node after
node, and still yields between two nodes to whatever else waits (another run, a pause), lets
hooks see every node, and records exactly what a Node Runner would have recorded."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgspec
import pytest
import zmq

from tests.conftest import flow, node, wait_for
from weboter.runtime.actions import builtin_plugins
from weboter.runtime.core.catalog import (
    Catalog,
    ControlContext,
    ControlDecision,
    ControlSpec,
    Plugin,
)
from weboter.runtime.core.hooks import PreNode
from weboter.runtime.core.loader import to_workflow
from weboter.runtime.engine.engine import Engine
from weboter.runtime.engine.handle import RunHandle, through_engine
from weboter.runtime.engine.settings import Settings
from weboter.runtime.store.eventlog import Durability, EventLog
from weboter.runtime.store.projection import state_at
from weboter.runtime.transport.subscriber import subscribe
from weboter.schemas.state import RunState

pytestmark = pytest.mark.timeout(120)


def loop(limit: int) -> dict[str, Any]:
    """One node adding 1 to $global{count} and going back to itself until `limit`."""
    return flow(
        node(
            "inc",
            "PyEvalAction",
            "IfElse",
            inputs={"expr": "param1 + 1", "param1": "$global{count}"},
            outputs=[{"src": "result", "name": "count", "pos": "global"}],
            params={
                "var": "$global{count}",
                "operator": "lt",
                "value": limit,
                "then_node": "inc",
                "else_node": "__end__",
            },
        )
    )


def state(db: Path, run_id: str) -> RunState:
    log = EventLog(db, create=False)
    try:
        return state_at(log, run_id)
    finally:
        log.close()


def completed(db: Path, run_id: str) -> int:
    return state(db, run_id).nodes_completed


@pytest.mark.parametrize("durability", ["sync", "batch"])
def test_a_long_stretch_yields_to_another_run_and_pauses_exactly(
    db_path: Path, durability: Durability
) -> None:
    """Also with `batch`: what a client is told is committed (the pause, a run at rest) is in
    the log for every other reader at once."""
    big = 5_000_000  # far more than this test lets it run
    settings = Settings(db_path=db_path, max_nodes=big + 10, durability=durability)
    with Engine(settings) as engine:
        client = engine.client(follow=False)
        long_run = client.submit(to_workflow(loop(big), "t"), variables={"count": 0})
        wait_for(lambda: completed(db_path, long_run) >= 200, "the long run under way")
        short_run = client.submit(to_workflow(loop(20), "t"), variables={"count": 0})
        assert client.wait(short_run, timeout=30).status == "COMPLETED"
        assert completed(db_path, short_run) == 20
        # recorded at once: no node of it commits after the pause
        RunHandle(long_run, through_engine(client)).pause()
        assert client.wait(long_run, timeout=30).status == "PAUSED"
        log = EventLog(db_path, create=False)
        types = [row.type for row in log.read_stored(long_run)]
        log.close()
        assert types[-1] == "RunPaused", types[-3:]
        count = state(db_path, long_run).globals["count"]
        assert 200 <= count < big
        assert completed(db_path, long_run) == count  # one node per count, none lost
        client.stop(long_run)
        assert client.wait(long_run, timeout=30).status == "STOPPED"


def test_subscribers_hear_of_a_stretch_while_it_runs(db_path: Path) -> None:
    """A stretch publishes what it committed as it goes (every ~20 ms), not at its end."""
    big = 5_000_000
    with Engine(Settings(db_path=db_path, max_nodes=big + 10)) as engine:
        client = engine.client(follow=False)
        run_id = client.submit(to_workflow(loop(big), "t"), variables={"count": 0})
        sub = engine.context.socket(zmq.SUB)
        try:
            sub.connect(engine.bus_endpoint)
            subscribe(sub, f"run.{run_id}.NodeCompleted".encode())
            heard = 0
            while heard < 3:  # three frames: three batches, or one batch of several nodes
                assert sub.poll(10_000), "no NodeCompleted published within 10 s"
                sub.recv_multipart()
                heard += 1
            assert state(db_path, run_id).status == "RUNNING"
        finally:
            sub.close(linger=0)
        client.stop(run_id)
        assert client.wait(run_id, timeout=30).status == "STOPPED"


def test_hook_handlers_see_every_node_of_a_loop(db_path: Path) -> None:
    seen: list[str] = []

    def count(hook: PreNode) -> None:
        seen.append(hook.node_id)

    engine = Engine(Settings(db_path=db_path))
    engine.hooks.register("pre_node_execute", count)
    with engine:
        client = engine.client(follow=False)
        run_id = client.submit(to_workflow(loop(30), "t"), variables={"count": 0})
        assert client.wait(run_id, timeout=30).status == "COMPLETED"
    assert seen == ["inc"] * 30


def _recorded(db: Path, run_id: str) -> list[tuple[str, dict[str, Any]]]:
    """The run's events as (type, payload) without what differs between two runs anyway."""
    log = EventLog(db, create=False)
    try:
        rows = log.read_stored(run_id)
    finally:
        log.close()
    found = []
    for row in rows:
        payload = msgspec.msgpack.decode(row.payload)
        for varying in ("duration_ms", "at", "started_at", "workflow", "run_id"):
            payload.pop(varying, None)
        found.append((row.type, payload))
    return found


def test_a_stretch_records_what_the_node_runner_records(tmp_path: Path) -> None:
    """The same loop, once in a stretch and once through the Node Runner (a hook subscriber
    sends every node there): the same events, the same variables."""
    wf = to_workflow(loop(25), "t")
    runs = []
    for name, hooked in (("stretch", False), ("runner", True)):
        db = tmp_path / f"{name}.db"
        with Engine(Settings(db_path=db)) as engine:
            if hooked:
                sub = engine.context.socket(zmq.SUB)
                sub.connect(engine.bus_endpoint)
                subscribe(sub, b"hook.")  # acknowledged: every node is published first
            client = engine.client(follow=False)
            run_id = client.submit(wf, variables={"count": 0})
            assert client.wait(run_id, timeout=30).status == "COMPLETED"
            if hooked:
                assert sub.poll(5000), "no hook published: the nodes did not go to the runner"
                sub.close(linger=0)
        runs.append(_recorded(db, run_id))
    assert runs[0] == runs[1]
    assert [t for t, _ in runs[0]].count("NodeCompleted") == 25


def test_values_are_the_same_whichever_thread_runs_the_node(db_path: Path) -> None:
    """A tuple made by an expression is a list afterwards, as it is after a message: a node
    run in a stretch sees what it would see through the Node Runner."""
    wf = flow(
        node(
            "pair",
            "PyEvalAction",
            inputs={"expr": "(1, 2)"},
            outputs=[{"src": "result", "name": "pair", "pos": "global"}],
            params={"next_node": "more"},
        ),
        node(
            "more",
            "PyEvalAction",
            "EndFlow",
            inputs={"expr": "param1 + [3]", "param1": "$global{pair}"},
            outputs=[{"src": "result", "name": "pair", "pos": "global"}],
        ),
    )
    with Engine(Settings(db_path=db_path)) as engine:
        client = engine.client(follow=False)
        run_id = client.submit(to_workflow(wf, "t"))
        assert client.wait(run_id, timeout=30).status == "COMPLETED"
    assert state(db_path, run_id).globals["pair"] == [1, 2, 3]


ODD_DECISIONS = {
    "a key that is not text": ControlDecision("__end__", flow_writes={7: "seven"}),
    "a loop count that is not whole": ControlDecision("__end__", loop_count=1.5),  # type: ignore[arg-type]
}


@pytest.mark.parametrize("hooked", [False, True], ids=["stretch", "runner"])
@pytest.mark.parametrize("odd", list(ODD_DECISIONS))
def test_a_result_a_message_could_not_carry_fails_its_node(
    tmp_path: Path, odd: str, hooked: bool
) -> None:
    """A plugin control whose decision a message's reader would refuse fails its node, in a
    stretch and through the Node Runner alike; the log reads back."""

    def decide(params: dict[str, Any], ctx: ControlContext) -> ControlDecision:
        return ODD_DECISIONS[odd]

    plugin = Plugin("odd", controls=[ControlSpec("odd.Decide", decide)])
    db = tmp_path / "odd.db"
    engine = Engine(Settings(db_path=db), catalog=Catalog([*builtin_plugins(), plugin]))
    with engine:
        if hooked:  # a hook subscriber: every node goes to the Node Runner
            sub = engine.context.socket(zmq.SUB)
            sub.connect(engine.bus_endpoint)
            subscribe(sub, b"hook.")
        client = engine.client(follow=False)
        wf = flow(node("n", "PyEvalAction", "odd.Decide", inputs={"expr": "1"}))
        run_id = client.submit(to_workflow(wf, "t"))
        assert client.wait(run_id, timeout=30).status != "COMPLETED"
        if hooked:
            sub.close(linger=0)
    failed = state(db, run_id).error
    assert failed is not None and "cannot be recorded" in failed.message, failed
