"""FanOut with workers: the engine's fan-out makes the item runs, the workers run their nodes
(items spread over them), and the parent gets every result in order."""

from __future__ import annotations

import pytest

from tests.conftest import flow, item_run, node
from tests.workers.conftest import Served
from tests.workers.test_roles import client_keys, submit, wait_for
from weboter.runtime.core.loader import to_workflow
from weboter.runtime.store.eventlog import EventLog
from weboter.runtime.store.projection import state_at
from weboter.schemas.events import NodeCompleted, RunCompleted

pytestmark = pytest.mark.timeout(120)


def test_item_runs_spread_over_the_workers(served: Served) -> None:
    for name in ("left", "right"):
        served.worker("--name", name, "--capacity", "2")
    served.wait_logged("worker left ready")
    served.wait_logged("worker right ready")
    item = flow(
        node("nap", "SleepFor", inputs={"duration": 0.3}, params={"next_node": "calc"}),
        node(
            "calc",
            "PyEvalAction",
            "EndFlow",
            inputs={"expr": "param1 * 2", "param1": "$flow{n}"},
            outputs=[{"src": "result", "name": "twice"}],
        ),
        id="double",
        name="double one",
    )
    each = node(
        "each",
        "FanOut",
        "EndFlow",
        inputs={
            "flow_id": "double",
            "items": list(range(8)),
            "item": "n",
            "at_once": 4,
            "data_out": [{"src": "$flow{twice}", "dst": "twice"}],
        },
        outputs=[{"src": "results", "name": "doubled", "pos": "global"}],
    )
    workflow = to_workflow(flow(each, sub_flows=[item], id="fan"), "fan")
    run_id = submit(served, workflow, client_keys(served.home))
    wait_for(served, run_id, RunCompleted, timeout=90)
    log = EventLog(served.home / "weboter.db", create=False)
    try:
        state = state_at(log, run_id)
        assert [r["twice"] for r in state.globals["doubled"]] == [n * 2 for n in range(8)]
        ran_on = set()
        for index in range(8):
            made = item_run(served.home / "weboter.db", run_id, index)
            assert made is not None
            records = list(log.read(made))
            assert isinstance(records[-1].event, RunCompleted)
            ran_on |= {r.event.worker for r in records if isinstance(r.event, NodeCompleted)}
    finally:
        log.close()
    assert ran_on == {"left", "right"}  # four at once: more than one worker's capacity
