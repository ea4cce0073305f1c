"""An engine's run slots (`max_runs`) and its queue (`max_queue`): a real engine in this
process, real ZeroMQ and SQLite, runs whose node is an HTTP request to a page the test lets
through when it chooses (tests/gate_server.py). How many runs were in progress at once is
read from the log's events, not from timing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import flow, node, wait_for
from tests.gate_server import GateServer
from tests.incli import cli
from weboter.runtime.core.loader import to_workflow
from weboter.runtime.engine.client import EngineBusy
from weboter.runtime.engine.engine import Engine
from weboter.runtime.engine.handle import RunHandle, through_engine
from weboter.runtime.engine.settings import Settings
from weboter.runtime.store.reading import Reader
from weboter.runtime.transport.addresses import CONTINUOUS_EXECUTOR
from weboter.schemas.messages import StoredEvent, YieldSlot

pytestmark = pytest.mark.timeout(120)


def held(*names: str) -> dict:
    """A flow of one HTTP request per name to `$global{gate}/<run's name><node's name>`."""
    nodes = [
        node(
            name,
            "http.HttpGet",
            "NextNode",
            inputs={"url": f"$global{{gate}}/$global{{me}}{name}", "timeout": 100},
            params={"next_node": nxt},
        )
        for name, nxt in zip(names, [*names[1:], "__end__"], strict=True)
    ]
    return flow(*nodes, id="held")


HELD = to_workflow(held("a"), "held")
STARTS = ("RunStarted", "RunResumed")
RESTS = ("RunCompleted", "RunFailed", "RunStopped", "RunPaused", "RunQueued")


def in_progress_at_most(events: list[StoredEvent]) -> int:
    """The most runs in progress (started or resumed, not yet resting or queued) at any seq."""
    going: set[str] = set()
    most = 0
    for e in events:
        if e.type in STARTS:
            going.add(e.run_id)
        elif e.type in RESTS:
            going.discard(e.run_id)
        most = max(most, len(going))
    return most


def statuses(db: Path, runs: list[str]) -> list[str]:
    with Reader(db) as log:
        return [str(log.state(r).status) for r in runs]


def test_two_slots_five_runs_never_more_than_two_and_first_come_first_started(
    tmp_path: Path,
) -> None:
    db = tmp_path / "weboter.db"
    settings = Settings(db_path=db, max_runs=2, max_queue=10)
    with GateServer() as gate, Engine(settings) as engine, engine.client(follow=False) as client:
        runs = [client.submit(HELD, variables={"gate": gate.url, "me": f"r{i}"}) for i in range(5)]
        # the two in progress ask the gate at once: either may come first (the order they
        # started in is the log's, checked below)
        assert sorted(gate.wait_arrived(2)) == ["r0a", "r1a"]
        queued = ["RUNNING"] * 2 + ["QUEUED"] * 3
        wait_for(lambda: statuses(db, runs) == queued, "two runs RUNNING, three QUEUED")
        with Reader(db) as log:
            assert log.queued() == [(runs[2], 0), (runs[3], 1), (runs[4], 2)]
        listed = cli("runs", "--json", home=tmp_path)
        assert listed.returncode == 0
        shown = {r["run_id"]: r for r in json.loads(listed.stdout)}
        assert [shown[r]["ahead"] for r in runs] == [None, None, 0, 1, 2]
        assert "(queued, 2 ahead)" in cli("runs", home=tmp_path).stdout
        for i in range(5):  # each run let through in turn; the next queued one takes its slot
            gate.open(f"r{i}a")
            assert str(client.wait(runs[i], timeout=60).status) == "COMPLETED"
            gate.wait_arrived(min(i + 3, 5))
        assert sorted(gate.arrived[:2]) == ["r0a", "r1a"]
        assert gate.arrived[2:] == [f"r{i}a" for i in range(2, 5)]
        assert gate.most == 2
    with Reader(db) as log:
        events = log.events()
    assert in_progress_at_most(events) == 2
    started = [e.run_id for e in events if e.type == "RunStarted"]
    assert started == runs  # first come, first started
    assert [e.run_id for e in events if e.type == "RunQueued"] == runs[2:]
    assert [e.run_id for e in events if e.type == "RunCompleted"] == runs


def test_beyond_the_queue_a_submission_is_refused_at_once_and_nothing_is_created(
    tmp_path: Path,
) -> None:
    db = tmp_path / "weboter.db"
    settings = Settings(db_path=db, max_runs=1, max_queue=1)
    with GateServer() as gate, Engine(settings) as engine, engine.client(follow=False) as client:
        mine = {"gate": gate.url, "me": "x"}
        runs = [client.submit(HELD, variables=mine) for _ in range(2)]  # one runs, one waits

        def settled() -> bool:  # a submission is answered once created, before it is driven
            with Reader(db) as log:
                return [str(log.state(r).status) for r in runs] == ["RUNNING", "QUEUED"]

        wait_for(settled, "one run in progress and one queued", 30)
        with pytest.raises(EngineBusy) as refused:
            client.submit(HELD, variables=mine, timeout=5)
        said = refused.value
        assert said.message == (
            "the engine has 1 runs in progress (--max-runs 1) and 1 queued (--max-queue 1): "
            "the run was not created"
        )
        assert "try again later" in said.hint and "--max-queue" in said.hint
        assert said.exit_code == 75
        with Reader(db) as log:
            assert {r.run_id for r in log.runs()} == set(runs)  # the third was never created
        gate.open("xa")
        for run_id in runs:
            assert str(client.wait(run_id, timeout=60).status) == "COMPLETED"
        third = client.submit(HELD, variables=mine)  # room again
        assert str(client.wait(third, timeout=60).status) == "COMPLETED"


def test_a_paused_run_gives_its_slot_and_a_paused_queued_run_leaves_the_queue(
    tmp_path: Path,
) -> None:
    db = tmp_path / "weboter.db"
    workflow = to_workflow(held("a", "b"), "held")
    settings = Settings(db_path=db, max_runs=1, max_queue=5)
    with GateServer() as gate, Engine(settings) as engine, engine.client(follow=False) as client:
        first, second, third = (
            client.submit(workflow, variables={"gate": gate.url, "me": me})
            for me in ("p", "q", "r")
        )
        gate.wait_arrived(1)
        wait_for(lambda: statuses(db, [second, third]) == ["QUEUED"] * 2, "two queued")
        RunHandle(
            third, through_engine(client)
        ).pause()  # queued: it pauses at once, and leaves the queue
        assert statuses(db, [third]) == ["PAUSED"]
        RunHandle(first, through_engine(client)).pause()  # at its node's end
        gate.open("pa")
        assert str(client.wait(first, timeout=60).status) == "PAUSED"
        assert gate.wait_arrived(2) == ["pa", "qa"]  # its slot went to the next in the queue
        gate.open("qa")
        gate.open("qb")
        assert str(client.wait(second, timeout=60).status) == "COMPLETED"
        assert statuses(db, [first, third]) == ["PAUSED", "PAUSED"]  # nobody took them up
    with Reader(db) as log:
        assert in_progress_at_most(log.events()) == 1


def test_a_run_that_yields_its_slot_lets_the_queue_go_and_takes_one_back_first(
    tmp_path: Path,
) -> None:
    """A parent waiting for its children (a fan-out) gives its slot up with YieldSlot while
    its node is in flight; with max_runs 1 the queued run runs meanwhile, and the parent's
    next node waits for a slot, ahead of any run queued later."""
    db = tmp_path / "weboter.db"
    settings = Settings(db_path=db, max_runs=1, max_queue=5)
    two = to_workflow(held("a", "b"), "held")
    with GateServer() as gate, Engine(settings) as engine, engine.client(follow=False) as client:
        parent = client.submit(two, variables={"gate": gate.url, "me": "p"})
        child = client.submit(HELD, variables={"gate": gate.url, "me": "c"})
        gate.wait_arrived(1)
        wait_for(lambda: statuses(db, [child]) == ["QUEUED"], "the child queued")
        with Reader(db) as log:
            version = log.state(parent).version  # the version its node in flight was planned at
        client.outbox.send(CONTINUOUS_EXECUTOR, YieldSlot(run_id=parent, version=version))
        assert gate.wait_arrived(2) == ["pa", "ca"]  # the child has the slot now
        late = client.submit(HELD, variables={"gate": gate.url, "me": "l"})
        wait_for(lambda: statuses(db, [late]) == ["QUEUED"], "a later run queued")
        gate.open("pa")  # the parent's node ends; its next one waits for a slot
        wait_for(lambda: _completed_nodes(db, parent) == 1, "the parent's first node")
        gate.open("ca")
        assert str(client.wait(child, timeout=60).status) == "COMPLETED"
        assert gate.wait_arrived(3)[2] == "pb"  # the parent before the run queued later
        gate.open("pb")
        gate.open("la")
        for run_id in (parent, late):
            assert str(client.wait(run_id, timeout=60).status) == "COMPLETED"
    assert gate.most == 2  # the parent's wait and its child: the parent held no slot then


def _completed_nodes(db: Path, run_id: str) -> int:
    with Reader(db) as log:
        return sum(1 for e in log.events(run_id) if e.type == "NodeCompleted")


def test_weboter_run_max_runs_queues_its_files_and_says_so(tmp_path: Path) -> None:
    """`weboter run a b c --parallel 3 --max-runs 1`: the client submits all three, the
    engine runs one at a time and the others' progress says they wait."""
    files = []
    for name in ("a", "b", "c"):
        path = tmp_path / f"{name}.json"
        workflow = held("x")
        workflow["nodes"][0]["inputs"]["url"] = f"$global{{gate}}/{name}"
        path.write_text(json.dumps(workflow))
        files.append(str(path))
    db = tmp_path / "weboter.db"
    with GateServer() as gate:
        proc = subprocess.Popen(
            [sys.executable, "-m", "weboter.runtime.cli.main", "run", *files, "--parallel", "3",
             "--max-runs", "1", "--var", f"gate={gate.url}"],
            env={**os.environ, "WEBOTER_HOME": str(tmp_path)},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        try:
            assert gate.wait_arrived(1) == ["a"]
            wait_for(lambda: _queued_count(db) == 2, "b and c queued")
            for name in ("a", "b", "c"):
                gate.open(name)
            _, err = proc.communicate(timeout=90)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
    assert proc.returncode == 0, err
    assert "[wait] queued (0 ahead)" in err and "[wait] queued (1 ahead)" in err
    assert gate.arrived == ["a", "b", "c"] and gate.most == 1
    with Reader(db) as log:
        assert in_progress_at_most(log.events()) == 1


def _queued_count(db: Path) -> int:
    if not db.exists():
        return 0
    with Reader(db) as log:
        return len(log.queued())


def test_an_engine_other_than_serve_pauses_its_queued_runs_when_it_stops(tmp_path: Path) -> None:
    """The UI's or MCP's engine (not `serve`, which takes its queue up when it starts again)
    leaves its queued runs PAUSED, for a person to continue: none is left QUEUED for ever."""
    db = tmp_path / "weboter.db"
    with GateServer() as gate:
        engine = Engine(Settings(db_path=db, max_runs=1)).start()
        try:
            with engine.client(follow=False) as client:
                runs = [client.submit(HELD, variables={"gate": gate.url, "me": me}) for me in "uv"]
            gate.wait_arrived(1)
            wait_for(lambda: statuses(db, runs) == ["RUNNING", "QUEUED"], "one queued")
            assert sorted(engine.pause_driven("ui stopped")) == sorted(runs)
        finally:
            engine.stop()
    assert statuses(db, runs) == ["PAUSED", "PAUSED"]
