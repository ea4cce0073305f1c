"""Comprehensions that would build ~10**9 items out of operations that each pass their own
bound: each fails its node at once with an ExpressionError that says what was too big, in a
real `weboter run` (a subprocess, with a timeout), and the same engine goes on to its next node.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.conftest import flow, node, weboter
from weboter.runtime.store.eventlog import EventLog

pytestmark = pytest.mark.timeout(120)

# every one builds (or walks) about 10**9 items: minutes and gigabytes unless refused early
BOMBS = {
    "list": "[[1]*99999 for x in 'a'*9999]",
    "generator into sum": "sum(len([1]*99999) for x in 'a'*9999)",
    "generator into sorted": "sorted([x]*99999 for x in 'a'*9999)",
    "nested": "[[[y]*9999 for y in 'a'*99] for x in 'a'*99]",
    "dict": "{x: [x]*99999 for x in 'ab'*4999}",
    "list() of text": "[list('x'*99999) for x in 'a'*9999]",
    "f-string": "[f'{x*99999}' for x in 'a'*9999]",
    "method": "[x.center(99999) for x in 'a'*9999]",
    "unpacking": "[[*('x'*99999)] for x in 'a'*9999]",
}
# a bomb's own time, from the event before its failure to the failure: refused early, not
# after the minutes it would take (room left for a machine kept busy by other programs)
QUICK = 10.0


def bomb_flow() -> dict:
    names = list(BOMBS)
    nodes = [
        node(
            f"bomb{i}",
            "PyEvalAction",
            "NextNode",
            inputs={"expr": BOMBS[name]},
            params={"next_node": f"bomb{i + 1}" if i + 1 < len(names) else "after"},
            on_error="skip",  # the run goes on: the engine must still be serving
        )
        for i, name in enumerate(names)
    ]
    after = node(
        "after", "PyEvalAction", "EndFlow", inputs={"expr": "40 + 2"}, outputs=[_to("answer")]
    )
    return flow(*nodes, after)


def _to(name: str) -> dict:
    return {"src": "result", "name": name, "pos": "global"}


def test_comprehension_bombs_fail_their_node_at_once_and_the_engine_goes_on(
    tmp_path: Path,
) -> None:
    path = tmp_path / "bombs.json"
    path.write_text(json.dumps(bomb_flow()), encoding="utf-8")
    try:
        done = weboter("run", str(path), "--json", home=tmp_path)  # its own 60 s timeout
    except subprocess.TimeoutExpired:
        pytest.fail("a comprehension bomb was still running after 60 s")
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout)
    assert result["status"] == "COMPLETED"
    assert result["variables"]["answer"] == 42  # the node after the bombs ran

    log = EventLog(tmp_path / "weboter.db")
    events = list(log.read(result["run_id"]))
    log.close()
    failed = [(i, e) for i, e in enumerate(events) if e.type == "NodeFailed"]
    assert [e.event.node_id for _, e in failed] == [f"bomb{i}" for i in range(len(BOMBS))]
    for (i, record), name in zip(failed, BOMBS, strict=True):
        error = record.event.error
        assert error.kind == "ExpressionError", (name, error)
        assert "10,000,000" in error.message, (name, error.message)  # says the bound ...
        assert "items" in error.message, (name, error.message)  # ... and what it counts
        took = record.recorded_at - events[i - 1].recorded_at
        assert took < QUICK, (name, took)


def test_what_was_too_big_is_named(tmp_path: Path) -> None:
    path = tmp_path / "bomb.json"
    bomb = node("bomb", "PyEvalAction", "EndFlow", inputs={"expr": BOMBS["list"]})
    path.write_text(json.dumps(flow(bomb)), encoding="utf-8")
    done = weboter("run", str(path), "--json", home=tmp_path)
    assert done.returncode != 0, done.stderr[-2000:]
    result = json.loads(done.stdout)
    assert result["status"] == "FAILED"
    error = result["error"]
    assert error["kind"] == "ExpressionError"
    assert "repeating 1 items 99,999 times" in error["message"], error
    assert "at most 10,000,000 in all" in error["message"], error
