"""An agent's session is a run like any other: each act is a node appended to its workflow
(one commit) and stepped; at the end of its nodes it pauses for the next act instead of
completing; ended, it completes; forked, the child is a session too."""

from __future__ import annotations

import msgspec
import pytest

from tests.actors.test_debugger import handle, load, state
from tests.conftest import Runner, flow, node
from weboter.runtime.engine.client import JobRejected
from weboter.schemas.workflow import Node

pytestmark = pytest.mark.timeout(60)


def act(id_: str, expr: str, name: str) -> Node:
    return msgspec.convert(
        node(
            id_,
            "PyEvalAction",
            inputs={"expr": expr},
            outputs=[{"src": "result", "name": name, "pos": "global"}],
            params={"next_node": "__end__"},
        ),
        Node,
    )


def test_a_session_waits_for_its_next_act_and_completes_once_ended(runner: Runner) -> None:
    first = act("one", "20 + 1", "a")
    run = handle(runner, load(runner, flow(msgspec.to_builtins(first))))
    run.open_session("agent")
    ended = run.step(timeout=30)
    assert ended.status == "PAUSED"
    now = state(runner, run.run_id)
    assert now.session and now.pause_reason == "session" and now.globals["a"] == 21

    second = act("two", "$global{a} * 2", "b")
    run.append(second, after=now.workflow.node("one"))
    assert run.step(timeout=30).status == "PAUSED"  # ran `two`, and waits again
    run.cont()  # a session continued at its end waits again: it has no next act yet
    assert run.wait(timeout=30).status == "PAUSED"
    now = state(runner, run.run_id)
    assert now.globals["b"] == 42 and now.pause_reason == "session"
    assert [n.id for n in now.workflow.nodes] == ["one", "two"]
    assert now.workflow.node("one").params == {"next_node": "two"}  # type: ignore[union-attr]

    child = run.fork(state(runner, run.run_id).seq, start=None)  # a fork is a session too
    assert state(runner, child.run_id).session

    run.end_session()
    run.cont()
    assert run.wait(timeout=30).status == "COMPLETED"
    with pytest.raises(JobRejected, match=r"not a session|COMPLETED"):
        run.end_session()


def test_only_a_loaded_run_becomes_a_session(runner: Runner) -> None:
    run = handle(
        runner,
        load(
            runner,
            flow(
                node("one", "EmptyAction", params={"next_node": "two"}),
                node("two", "EmptyAction", params={"next_node": "__end__"}),
            ),
        ),
    )
    assert run.step(timeout=30).status == "PAUSED"
    with pytest.raises(JobRejected, match="OpenSession is not allowed"):
        run.open_session()
    with pytest.raises(JobRejected, match="is not a session"):
        run.end_session()
