"""FanOut through a crash: a real `weboter run` is killed with SIGKILL mid-fan-out;
`weboter resume` completes every item once — items that had completed are not run again, items
in flight go on from their own last committed step, the rest are made."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from tests.conftest import item_run, wait_for
from weboter.runtime.store.eventlog import EventLog
from weboter.runtime.store.projection import state_at
from weboter.schemas.events import NodeCompleted, RunCompleted, RunCreated

pytestmark = pytest.mark.timeout(120)

ITEMS = 10


def workflow() -> dict:
    """FanOut n in 0..9, two at once: each item appends n to lines.txt, naps, gives n*10."""
    item = {
        "id": "item",
        "name": "one item",
        "nodes": [
            {
                "id": "write",
                "action": "WriteTextFile",
                "inputs": {"path": "lines.txt", "content": "$flow{n}\n", "append": True},
                "control": "NextNode",
                "params": {"next_node": "nap"},
            },
            {
                "id": "nap",
                "action": "SleepFor",
                "inputs": {"duration": 0.25},
                "control": "NextNode",
                "params": {"next_node": "calc"},
            },
            {
                "id": "calc",
                "action": "PyEvalAction",
                "inputs": {"expr": "param1 * 10", "param1": "$flow{n}"},
                "outputs": [{"src": "result", "name": "value"}],
                "control": "EndFlow",
            },
        ],
    }
    each = {
        "id": "each",
        "action": "FanOut",
        "inputs": {
            "flow_id": "item",
            "items": list(range(ITEMS)),
            "item": "n",
            "at_once": 2,
            "data_out": [{"src": "$flow{value}", "dst": "value"}],
        },
        "outputs": [{"src": "results", "name": "values", "pos": "global"}],
        "control": "EndFlow",
    }
    return {"id": "fan", "name": "fan out", "nodes": [each], "sub_flows": [item]}


def _completed_items(db: Path, parent: str) -> int:
    if not db.exists():
        return 0
    log = EventLog(db)
    try:
        return sum(
            1
            for r in log.read()
            if isinstance(r.event, RunCompleted) and r.run_id != parent and r.run_id
        )
    finally:
        log.close()


def test_sigkill_mid_fan_out_then_resume_completes_each_item_once(tmp_path: Path) -> None:
    wf = tmp_path / "fan.json"
    wf.write_text(json.dumps(workflow()))
    env = {**os.environ, "WEBOTER_HOME": str(tmp_path)}
    db = tmp_path / "weboter.db"
    proc = subprocess.Popen(
        [sys.executable, "-m", "weboter.runtime.cli.main", "run", str(wf)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stderr is not None
        header = proc.stderr.readline()
        assert header.startswith("run "), header
        parent = header.split()[1].rstrip(":")
        wait_for(lambda: _completed_items(db, parent) >= 3, "three items completed", 60)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        proc.stdout.close()  # type: ignore[union-attr]
        proc.stderr.close()  # type: ignore[union-attr]
    before = Counter((tmp_path / "workspace" / "lines.txt").read_text().split())
    done_before = _completed_items(db, parent)
    assert done_before < ITEMS, "the kill came after the fan-out: nothing to resume"

    final = subprocess.run(
        [sys.executable, "-m", "weboter.runtime.cli.main", "resume", parent, "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )
    assert final.returncode == 0, final.stderr + final.stdout
    assert json.loads(final.stdout)["status"] == "COMPLETED"

    log = EventLog(db)
    try:
        state = state_at(log, parent)
        records = list(log.read())
    finally:
        log.close()
    assert state.globals["values"] == [{"value": n * 10} for n in range(ITEMS)]
    # one item run per item (no second try: none failed), each completed once
    created = [r.event for r in records if isinstance(r.event, RunCreated) and r.event.item_of]
    assert sorted(e.item_of.index for e in created if e.item_of) == list(range(ITEMS))
    ids = {item_run(db, parent, n) for n in range(ITEMS)}
    assert {e.run_id for e in created} == ids
    ended = Counter(r.run_id for r in records if isinstance(r.event, RunCompleted))
    assert all(ended[run_id] == 1 for run_id in ids)
    # each item's nodes were recorded completed once, the item in flight included
    nodes = Counter(
        (r.run_id, r.event.node_id) for r in records if isinstance(r.event, NodeCompleted)
    )
    assert all(nodes[(run_id, n)] == 1 for run_id in ids for n in ("write", "nap", "calc"))
    # items done before the kill wrote once; only those in flight (at most 2) may write twice
    after = Counter((tmp_path / "workspace" / "lines.txt").read_text().split())
    assert sorted(after) == sorted(str(n) for n in range(ITEMS))
    twice = [n for n, count in after.items() if count > 1]
    assert len(twice) <= 2
    assert all(before[n] == 1 for n in twice)  # a repeat is of a write made before the kill
