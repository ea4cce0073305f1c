"""Generated workflows (hypothesis): any JSON value where a workflow expects one — a node's
fields, inputs, params, outputs, retry — through `validate` and, when valid, `run`. Every one
ends with exit code 0, 1 or 2 and a message, never a traceback or a hang."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from weboter.runtime.cli.main import main

pytestmark = pytest.mark.timeout(240)

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False)
    | st.text(max_size=30)
    | st.sampled_from(["__end__", "__exit__", "a", "b", "$global{x}", "$flow{y}", "1 +"])
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
actions = st.sampled_from(
    ["SetData", "PyEvalAction", "EmptyAction", "RegexExtract", "WriteTextFile", "Nope", 3]
)
controls = st.sampled_from(["NextNode", "IfElse", "LoopUntil", "EndFlow", "Nope", None])


@st.composite
def workflows(draw: Any) -> dict[str, Any]:
    nodes = []
    for i in range(draw(st.integers(min_value=1, max_value=4))):
        node: dict[str, Any] = {"id": draw(st.sampled_from([f"n{i}", "a", "b", ""]))}
        node["action"] = draw(actions)
        node["control"] = draw(controls)
        node["inputs"] = draw(
            st.dictionaries(
                st.sampled_from(["key", "value", "expr", "param1", "pattern", "text", "path"]),
                values,
                max_size=3,
            )
        )
        node["params"] = draw(
            st.dictionaries(
                st.sampled_from(["next_node", "condition", "true_next", "false_next", "max_loops"]),
                values,
                max_size=3,
            )
        )
        if draw(st.booleans()):
            node["outputs"] = draw(values)
        if draw(st.booleans()):
            node["retry"] = draw(values)
        if draw(st.booleans()):
            node["timeout"] = draw(values)
        nodes.append(node)
    return {"id": "gen", "name": "generated", "nodes": nodes}


@settings(
    max_examples=80,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(workflow=workflows())
def test_generated_workflows_exit_cleanly(
    workflow: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "gen.json"
    path.write_text(json.dumps(workflow), encoding="utf-8")
    db = tmp_path / "gen.db"
    code = main(["validate", str(path), "--db", str(db)])
    err = capsys.readouterr().err
    assert code in (0, 2), err
    assert "Traceback" not in err, err
    if code != 0:
        return
    args = ["run", str(path), "--db", str(db), "--quiet", "--max-nodes", "200"]
    code = main([*args, "--node-timeout", "3", "--var", "x=1"])
    err = capsys.readouterr().err
    assert code in (0, 1, 2), err
    assert "Traceback" not in err, err
