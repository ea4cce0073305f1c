"""Workflows run end to end through the real actors, ZeroMQ and the SQLite log."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import Runner, flow, node
from weboter.runtime.core.references import display

pytestmark = pytest.mark.timeout(60)


def test_loop_ifelse_setdata_pyeval_subflow(runner: Runner) -> None:
    wf = flow(
        node(
            "init",
            "SetData",
            inputs={"key": "$flow{count}", "value": 0},
            params={"next_node": "inc"},
        ),
        node(
            "inc",
            "PyEvalAction",
            "LoopUntil",
            inputs={"expr": "param1 + 1", "param1": "$flow{count}"},
            outputs=[{"src": "result", "name": "count"}],
            params={"loop_back": "inc", "loop_out": "call", "var": "$flow{count}", "value": 3},
        ),
        node(
            "call",
            "SubFlow",
            "IfElse",
            inputs={
                "flow_id": "greet",
                "data_in": [{"src": "$flow{count}", "dst": "n"}],
                "data_out": [{"src": "$flow{msg}", "dst": "message"}],
            },
            outputs=[{"src": "message", "pos": "global"}],
            params={
                "var": "$global{message}",
                "value": "hi 3",
                "then_node": "done",
                "else_node": "__exit__",
            },
        ),
        node("done", "SetData", "EndFlow", inputs={"key": "$global{ok}", "value": True}),
        sub_flows=[
            flow(
                node("g1", "SetData", "EndFlow", inputs={"key": "msg", "value": "hi $flow{n}"}),
                id="greet",
            )
        ],
    )
    outcome = runner.run(wf)
    assert outcome.ended.status == "COMPLETED"
    assert outcome.state.globals == {"message": "hi 3", "ok": True}
    assert outcome.state.frames[0].vars["count"] == 3
    assert outcome.types() == [
        "RunCreated",
        "RunStarted",
        "NodeCompleted",
        "NodeCompleted",
        "NodeCompleted",
        "NodeCompleted",
        "SubFlowEntered",
        "NodeCompleted",
        "SubFlowReturned",
        "NodeCompleted",
        "RunCompleted",
    ]
    versions = [r.run_version for r in outcome.events]
    assert versions == list(range(1, len(versions) + 1))


def test_exit_ends_every_flow(runner: Runner) -> None:
    wf = flow(
        node("a", "SubFlow", inputs={"flow_id": "inner"}, params={"next_node": "never"}),
        node("never", "SetData", "EndFlow", inputs={"key": "x", "value": 1}),
        sub_flows=[
            flow(node("i", control="NextNode", params={"next_node": "__exit__"}), id="inner")
        ],
    )
    outcome = runner.run(wf)
    assert outcome.ended.status == "COMPLETED"
    assert "never" not in [getattr(r.event, "node_id", None) for r in outcome.events]
    assert outcome.events[-1].event.end == "__exit__"  # type: ignore[union-attr]


def test_loop_counter_restarts_when_the_loop_is_entered_anew(runner: Runner) -> None:
    # The outer loop enters the inner loop twice; the inner one has 2 tries each time.
    wf = flow(
        node(
            "outer",
            "PyEvalAction",
            inputs={"expr": "(param1 or 0) + 1", "param1": "$global{rounds}"},
            outputs=[{"src": "result", "name": "rounds", "pos": "global"}],
            params={"next_node": "inner"},
        ),
        node(
            "inner",
            "PyEvalAction",
            "LoopUntil",
            inputs={"expr": "(param1 or 0) + 1", "param1": "$global{tries}"},
            outputs=[{"src": "result", "name": "tries", "pos": "global"}],
            params={
                "loop_back": "inner",
                "loop_out": "check",
                "var": "never",
                "value": "x",
                "loop_tries": 2,
                "loop_fail_node": "check",
            },
        ),
        node(
            "check",
            control="IfElse",
            params={
                "var": "$global{rounds}",
                "operator": "lt",
                "value": 2,
                "then_node": "outer",
                "else_node": "__end__",
            },
        ),
    )
    outcome = runner.run(wf, variables={"rounds": 0, "tries": 0})
    assert outcome.ended.status == "COMPLETED"
    # each entry: 1 first run + 2 loop-backs = 3 executions; two entries -> 6
    assert outcome.state.globals["tries"] == 6


@pytest.mark.parametrize(
    ("operator", "var", "value", "taken"),
    [
        ("eq", "true", True, True),
        ("ne", "1", 2, True),
        ("gt", "10", 9, True),
        ("gte", 3, "3", True),
        ("lt", "2.5", 3, True),
        ("lte", 4, 3, False),
        ("contains", "hello world", "world", True),
        ("in", "b", ["a", "b"], True),
    ],
)
def test_ifelse_operators(
    runner: Runner, operator: str, var: object, value: object, taken: bool
) -> None:
    wf = flow(
        node(
            "if",
            control="IfElse",
            params={
                "var": var,
                "value": value,
                "operator": operator,
                "then_node": "yes",
                "else_node": "no",
            },
        ),
        node("yes", "SetData", "EndFlow", inputs={"key": "$global{r}", "value": "yes"}),
        node("no", "SetData", "EndFlow", inputs={"key": "$global{r}", "value": "no"}),
    )
    assert runner.run(wf).state.globals["r"] == ("yes" if taken else "no")


def test_bymap_routes_by_key_and_default(runner: Runner) -> None:
    wf = flow(
        node(
            "route",
            control="ByMap",
            params={
                "key": "$global{k}",
                "route_map": {"1": "one", "b": "bee"},
                "default_node": "other",
            },
        ),
        node("one", "SetData", "EndFlow", inputs={"key": "$global{r}", "value": 1}),
        node("bee", "SetData", "EndFlow", inputs={"key": "$global{r}", "value": "b"}),
        node("other", "SetData", "EndFlow", inputs={"key": "$global{r}", "value": "?"}),
    )
    assert runner.run(wf, {"k": 1}).state.globals["r"] == 1
    assert runner.run(wf, {"k": "b"}).state.globals["r"] == "b"
    assert runner.run(wf, {"k": "zzz"}).state.globals["r"] == "?"


def test_references_resolve_nested_and_inside_strings(runner: Runner) -> None:
    wf = flow(
        node(
            "a",
            "SetData",
            inputs={
                "key": "$flow{cfg}",
                "value": {"urls": ["$env{shop.url}/p/$global{id}"], "n": "$global{id}"},
            },
            params={"next_node": "b"},
        ),
        node(
            "b",
            "PyEvalAction",
            inputs={"expr": "param1 * 2", "param1": "$prev{value.n}"},
            outputs=[{"src": "result", "name": "double", "pos": "global"}],
            params={"next_node": "c"},
        ),
        node(
            "c",
            "PyEvalAction",
            "EndFlow",
            inputs={"expr": "param1 == 'http://shop.test/p/21'", "param1": "$flow{cfg.urls[0]}"},
            outputs=[{"src": "result", "name": "url_ok", "pos": "global"}],
        ),
    )
    outcome = runner.run(wf, {"id": 21})
    # $env values are kept in the log as references, and resolved again when used
    assert display(outcome.state.frames[0].vars["cfg"]) == {
        "urls": ["$env{shop.url}/p/21"],
        "n": 21,
    }
    assert outcome.state.globals["double"] == 42
    assert outcome.state.globals["url_ok"] is True


def test_output_conversion(runner: Runner) -> None:
    wf = flow(
        node(
            "a",
            "SetData",
            "EndFlow",
            inputs={"key": "x", "value": "42"},
            outputs=[
                {"src": "value", "name": "n", "pos": "global", "cvt": "int"},
                {"src": "value", "name": "f", "pos": "global", "cvt": "float"},
            ],
        )
    )
    assert runner.run(wf).state.globals == {"n": 42, "f": 42.0}


def test_unresolvable_reference_fails_the_run_naming_node_input_and_reference(
    runner: Runner,
) -> None:
    wf = flow(node("a", "SetData", "EndFlow", inputs={"key": "x", "value": "$flow{nope.deep}"}))
    outcome = runner.run(wf)
    assert outcome.ended.status == "FAILED"
    error = outcome.state.error
    assert error is not None
    assert error.node_id == "a"
    assert "inputs.value" in error.message and "$flow{nope.deep}" in error.message
    assert outcome.types()[-2:] == ["NodeFailed", "RunFailed"]


def test_retry_policy_records_failed_attempts_then_fails(runner: Runner, tmp_path: Path) -> None:
    wf = flow(
        node(
            "bad",
            "data.JsonParse",
            "EndFlow",
            inputs={"text": "{not json"},
            retry={"attempts": 3, "backoff": 0.01},
        )
    )
    outcome = runner.run(wf)
    assert outcome.ended.status == "FAILED"
    assert outcome.types().count("NodeAttemptFailed") == 2
    assert outcome.state.error is not None and outcome.state.error.attempt == 3


def test_timeout_cancels_a_slow_action(runner: Runner) -> None:
    wf = flow(node("slow", "SleepFor", "EndFlow", inputs={"duration": 5}, timeout=0.2))
    outcome = runner.run(wf)
    assert outcome.ended.status == "FAILED"
    assert outcome.state.error is not None
    assert outcome.state.error.kind == "ActionTimeout"
    assert "0.2 s" in outcome.state.error.message


def test_write_text_file_and_sleep(runner: Runner, tmp_path: Path) -> None:
    target = runner.db_path.parent / "workspace" / "out" / "a.txt"  # relative: the workspace
    wf = flow(
        node(
            "w",
            "WriteTextFile",
            inputs={"path": "out/a.txt", "content": "x=$global{x}"},
            outputs=[{"src": "bytes_written", "pos": "global"}],
            params={"next_node": "s"},
        ),
        node("s", "SleepFor", "EndFlow", inputs={"duration": 0.01}),
    )
    outcome = runner.run(wf, {"x": 5})
    assert target.read_text() == "x=5"
    assert outcome.state.globals["bytes_written"] == 3


def test_pyeval_refuses_import(runner: Runner) -> None:
    wf = flow(node("e", "PyEvalAction", "EndFlow", inputs={"expr": "__import__('os').getcwd()"}))
    outcome = runner.run(wf)
    assert outcome.ended.status == "FAILED"
    assert outcome.state.error is not None and "refused" in outcome.state.error.message


def test_several_runs_share_one_engine(runner: Runner) -> None:
    wf = flow(node("a", "SetData", "EndFlow", inputs={"key": "$global{v}", "value": "$global{i}"}))
    results = [runner.run(wf, {"i": i}).state.globals["v"] for i in range(5)]
    assert results == list(range(5))
