"""Validation and loading: every fault reported with its path, before anything runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import flow, node
from weboter.runtime.actions import default_catalog
from weboter.runtime.core.loader import load_workflow, to_workflow
from weboter.runtime.core.validate import validate
from weboter.runtime.errors import WorkflowInvalid, WorkflowSyntaxError


def findings(wf: dict) -> list[str]:
    return [str(f) for f in validate(to_workflow(wf, "t"), default_catalog())]


def test_valid_workflow_has_no_findings() -> None:
    wf = flow(node("a", params={"next_node": "b"}), node("b", control="EndFlow"))
    assert findings(wf) == []


def test_unknown_action_and_control_with_suggestion() -> None:
    result = findings(flow(node("a", "SetDate", "NextNod", params={"next_node": "__end__"})))
    assert "error: nodes[0].action: unknown action 'SetDate'" in result
    assert "error: nodes[0].control: unknown control 'NextNod'" in result


def test_unknown_next_node_and_missing_param() -> None:
    result = findings(
        flow(
            node("a", params={"next_node": "b"}),
            node("b", control="IfElse", params={"then_node": "zz"}),
        )
    )
    assert "error: nodes[0].params.next_node: next node 'b' does not exist" not in result
    assert any("nodes[1].params.else_node" in f and "needs param" in f for f in result)
    assert any("nodes[1].params.then_node" in f and "'zz' does not exist" in f for f in result)


def test_missing_required_input() -> None:
    result = findings(flow(node("a", "PyEvalAction", "EndFlow")))
    assert any(f.startswith("error: nodes[0].inputs.expr") for f in result)


def test_an_input_the_action_does_not_read_and_an_element_action_without_locator() -> None:
    click = {"locatr": {"element": "#go"}, "expect_url": "https://shop.test/"}
    result = findings(flow(node("a", "ClickItem", inputs=click, params={"next_node": "__end__"})))
    assert (
        "error: nodes[0].inputs.locatr: builtin.ClickItem has no input 'locatr': "
        "did you mean 'locator'?" in result
    )
    assert "error: nodes[0].inputs.locator: builtin.ClickItem needs input 'locator': the " in (
        " ".join(result)
    )
    assert not any("expect_url" in f for f in result)  # any browser node's post-condition
    key = {"key": "Enter", "locator": "#q"}  # PressKey's element is optional: the page's
    assert findings(flow(node("a", "PressKey", inputs=key, params={"next_node": "__end__"}))) == []


def test_missing_start_node_and_unreachable_warning() -> None:
    result = findings(
        flow(node("a", control="EndFlow"), node("b", control="EndFlow"), start_node_id="nope")
    )
    assert any("start_node_id" in f for f in result)
    result = findings(flow(node("a", control="EndFlow"), node("b", control="EndFlow")))
    assert result == ["warning: nodes[1]: node 'b' cannot be reached from 'a'"]


def test_sub_flow_visibility() -> None:
    wf = flow(
        node("a", "SubFlow", inputs={"flow_id": "child"}, params={"next_node": "b"}),
        node("b", "SubFlow", "EndFlow", inputs={"flow_id": "grandchild"}),
        sub_flows=[
            flow(
                node("c", control="EndFlow"),
                id="child",
                sub_flows=[flow(node("d", control="EndFlow"), id="grandchild")],
            )
        ],
    )
    result = findings(wf)
    assert result == [
        "error: nodes[1].inputs.flow_id: no sub-flow 'grandchild' is visible from flow 'f'"
    ]


def test_errors_inside_sub_flows_have_full_paths() -> None:
    wf = flow(
        node("a", "SubFlow", "EndFlow", inputs={"flow_id": "s"}),
        sub_flows=[flow(node("x", "Nope", "EndFlow"), id="s")],
    )
    assert "error: sub_flows[0].nodes[0].action: unknown action 'Nope'" in findings(wf)


def test_schema_violation_names_the_field() -> None:
    with pytest.raises(WorkflowInvalid, match=r"nodes\[1\]\.outputs\[0\]\.pos"):
        to_workflow(flow(node("a"), node("b", outputs=[{"src": "x", "pos": "nowhere"}])), "t")
    with pytest.raises(WorkflowInvalid, match=r"nodes\[0\]"):
        to_workflow({"id": "f", "name": "n", "nodes": [{"action": "x"}]}, "t")


def test_start_defaults_to_first_node() -> None:
    assert to_workflow(flow(node("first"), node("second")), "t").start == "first"


def test_bad_json_and_yaml_report_line_and_column(tmp_path: Path) -> None:
    bad_json = tmp_path / "a.json"
    bad_json.write_text('{"id": "x",\n "name": }')
    with pytest.raises(WorkflowSyntaxError, match=r"a\.json:2:\d+: not valid JSON"):
        load_workflow(bad_json)
    bad_yaml = tmp_path / "a.yaml"
    bad_yaml.write_text("id: x\nnodes:\n  - id: a\n   action: b\n")
    with pytest.raises(WorkflowSyntaxError, match=r"a\.yaml:\d+:\d+: not valid YAML"):
        load_workflow(bad_yaml)
    with pytest.raises(WorkflowSyntaxError, match="no such file"):
        load_workflow(tmp_path / "missing.yaml")


def test_escaped_dollar_is_not_a_reference() -> None:
    wf = flow(node("a", "EvaluateJS", "EndFlow", inputs={"script": "() => '$$x{1}'"}))
    assert findings(wf) == []


def test_a_reference_never_closed_is_an_error_not_a_literal() -> None:
    bad = node("a", "SetData", "EndFlow", inputs={"key": "$global{size", "value": 1})
    assert findings(flow(bad)) == [
        "error: nodes[0]: node 'a' has a reference that is never closed: '$global{size' (add the })"
    ]
    fine = [
        "$global{size}",
        "price: $$global{x",  # an escaped dollar: the text itself
        "{not a reference",
        "$flow{a} and $global{b}",
    ]
    for text in fine:
        ok = node("a", "SetData", "EndFlow", inputs={"key": "$global{k}", "value": text})
        assert findings(flow(ok)) == [], text
