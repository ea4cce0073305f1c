"""A worker runs at most `--capacity` nodes at once; the nodes beyond wait in the engine's
broker, in order, and run as its slots free: none lost, none refused. A real `weboter serve
--workers` and `weboter worker`; the nodes are HTTP requests to a page the test lets through
(tests/gate_server.py), which counts how many the worker had in flight at once."""

from __future__ import annotations

import pytest

from tests.conftest import wait_for as until
from tests.gate_server import GateServer
from tests.test_run_slots import statuses
from tests.test_serve_slots import submit_all
from tests.workers.conftest import Served
from tests.workers.test_roles import wait_for
from weboter.schemas.events import NodeCompleted, RunCompleted

pytestmark = pytest.mark.timeout(180)


def test_nodes_beyond_a_workers_capacity_wait_in_the_broker_and_all_run(served: Served) -> None:
    served.worker("--name", "pair", "--capacity", "2")
    served.wait_logged("worker pair ready")
    db = served.home / "weboter.db"
    names = [f"w{i}" for i in range(4)]
    with GateServer() as gate:
        runs = submit_all(served.info["commands"], served.home, gate.url, names)
        assert sorted(gate.wait_arrived(2)) == ["w0a", "w1a"]
        # the engine drives all four (its max_runs is 16): the worker's capacity holds two back
        until(lambda: statuses(db, runs) == ["RUNNING"] * 4, "all four RUNNING")
        served.wait_logged("worker pair is full (2 at once): nodes wait")
        assert len(gate.arrived) == 2  # held: neither sent on nor refused
        for i, name in enumerate(names):
            gate.open(f"{name}a")
            wait_for(served, runs[i], RunCompleted)
        assert gate.most == 2  # never more than its capacity in flight
        assert sorted(gate.arrived) == [f"{n}a" for n in names]  # each node once
    for run_id in runs:
        done = [r for r in served.events(run_id) if isinstance(r.event, NodeCompleted)]
        assert [r.event.worker for r in done] == ["pair"]  # type: ignore[union-attr]
