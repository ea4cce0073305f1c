"""Runaway workflows end with a clear error: a loop that never ends meets the node budget."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import flow, node
from tests.incli import cli
from weboter.runtime.store.eventlog import EventLog
from weboter.runtime.store.projection import state_at

FOREVER = flow(
    node(
        "spin",
        "PyEvalAction",
        inputs={"expr": "(param1 or 0) + 1", "param1": "$global{n}"},
        outputs=[{"src": "result", "name": "n", "pos": "global"}],
        params={"next_node": "spin"},
    )
)


def test_a_loop_that_never_ends_fails_at_the_node_budget(tmp_path: Path) -> None:
    path = tmp_path / "forever.json"
    path.write_text(json.dumps(FOREVER), encoding="utf-8")
    home = tmp_path / "home"
    ran = cli("run", str(path), "--max-nodes", "40", "--var", "n=0", "--json", home=home)
    assert ran.returncode == 1, ran.stderr
    assert "Traceback" not in ran.stderr
    summary = json.loads(ran.stdout)
    assert summary["status"] == "FAILED"
    assert summary["error"]["kind"] == "NodeBudgetExceeded"
    assert "--max-nodes" in summary["error"]["hint"]
    log = EventLog(home / "weboter.db", create=False)
    state = state_at(log, summary["run_id"])
    assert state.globals["n"] == 40  # exactly the budget, then it stopped
    assert state.nodes_completed == 40

    # a fork from near the end gets a budget of its own, counted from the fork point
    seq = [e.seq for e in log.read_stored(summary["run_id"]) if e.type == "NodeCompleted"][-5]
    log.close()
    forked = cli(
        "fork", summary["run_id"], "--at", str(seq), "--max-nodes", "10", "--json", home=home
    )
    assert forked.returncode == 1, forked.stderr
    fork = json.loads(forked.stdout)
    assert fork["error"]["kind"] == "NodeBudgetExceeded"
    assert fork["variables"]["n"] == 36 + 10


def test_the_budget_is_a_bad_input_when_negative(tmp_path: Path) -> None:
    path = tmp_path / "forever.json"
    path.write_text(json.dumps(FOREVER), encoding="utf-8")
    ran = cli("run", str(path), "--max-nodes", "-1", home=tmp_path / "home")
    assert ran.returncode == 2
    assert "cannot be negative" in ran.stderr
