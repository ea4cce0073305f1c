"""A value that holds a secret (stored as its `$env` marker) keeps working in a fork and after a
rewind: the new run gets the secret back, not a garbled marker."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import Runner, flow, node
from weboter.runtime.core.loader import to_workflow
from weboter.runtime.engine.handle import RunHandle, through_log
from weboter.runtime.store.eventlog import EventLog
from weboter.runtime.store.projection import state_at
from weboter.schemas.events import NodeCompleted

pytestmark = pytest.mark.timeout(60)

SECRET = "s3cr3t-VALUE-42"
WORKFLOW = flow(
    node(
        "a",
        "SetData",
        inputs={"key": "$flow{tok}", "value": "Bearer $env{api.token}"},
        params={"next_node": "b"},
    ),
    node(
        "b",
        "PyEvalAction",
        "EndFlow",
        inputs={"expr": "len(param1)", "param1": "$flow{tok}"},
        outputs=[{"src": "result", "name": "n", "pos": "global"}],
    ),
)


def test_a_fork_and_a_rewind_get_the_secret_back(db_path: Path) -> None:
    runner = Runner(db_path, env={"api": {"token": SECRET}})
    try:
        parent = runner.run(WORKFLOW)
        assert parent.ended.status == "COMPLETED"
        assert parent.state.globals["n"] == len("Bearer " + SECRET)
        after_a = next(
            r.seq
            for r in parent.events
            if isinstance(r.event, NodeCompleted) and r.event.node_id == "a"
        )
        client = runner.client
        fork = client.fork(parent.run_id, after_a, variables={"x": "\x00$env{api.token}\x00"})
        assert client.wait(fork, timeout=20).status == "COMPLETED"
        log = EventLog(db_path)
        try:
            forked = state_at(log, fork)
        finally:
            log.close()
        assert forked.globals["n"] == len("Bearer " + SECRET)
        # a marker sent from outside is no marker: it stays text (with U+FFFD), never the secret
        assert forked.globals["x"] == "\ufffd$env{api.token}\ufffd"
        # the same after a rewind: a second run paused before b, rewound to after a, goes on
        second = client.submit(to_workflow(WORKFLOW, "t"), start=None)
        client.step(second)  # a ran; paused before b
        log = EventLog(db_path)
        try:
            seqs = [r.seq for r in log.read(second) if isinstance(r.event, NodeCompleted)]
        finally:
            log.close()
        RunHandle(second, through_log(db_path)).rewind(seqs[0])
        client.cont(second)
        assert client.wait(second, timeout=20).status == "COMPLETED"
        log = EventLog(db_path)
        try:
            assert state_at(log, second).globals["n"] == len("Bearer " + SECRET)
        finally:
            log.close()
    finally:
        runner.close()
    raw = b"".join(p.read_bytes() for p in db_path.parent.rglob("*") if p.is_file())
    assert SECRET.encode() not in raw
