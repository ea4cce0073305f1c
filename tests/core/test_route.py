"""A node's control gets its params resolved; params with nothing to resolve are given as
they are (the quick path) and give the same decisions."""

from __future__ import annotations

from typing import Any

import pytest

from weboter.runtime.actions import default_catalog
from weboter.runtime.core.catalog import Catalog, ControlContext, ControlDecision, ControlSpec
from weboter.runtime.core.node import route
from weboter.runtime.core.references import EnvSource
from weboter.schemas.workflow import Node


def _route(
    node: Node, catalog: Catalog | None = None, env: EnvSource | None = None, **flow: Any
) -> tuple[ControlDecision, dict[str, str]]:
    secrets: dict[str, str] = {}
    decision = route(
        node,
        catalog or default_catalog(),
        env or EnvSource({}, use_os=False),
        globals_={},
        flow=flow,
        prev={},
        outputs={},
        loop_count=0,
        secrets=secrets,
    )
    return decision, secrets


@pytest.mark.timeout(10)
def test_literal_and_referenced_params_decide_alike() -> None:
    literal = Node(
        id="n",
        control="IfElse",
        params={"var": 3, "operator": "gt", "value": 2, "then_node": "a", "else_node": "b"},
    )
    referenced = Node(
        id="n",
        control="IfElse",
        params={
            "var": "$flow{x}",
            "operator": "gt",
            "value": 2,
            "then_node": "a",
            "else_node": "b",
        },
    )
    assert _route(literal)[0].next_node == "a"
    assert _route(referenced, x=3)[0].next_node == "a"
    assert _route(referenced, x=1)[0].next_node == "b"


@pytest.mark.timeout(10)
def test_an_escaped_dollar_in_a_param_is_resolved() -> None:
    node = Node(id="n", control="NextNode", params={"next_node": "cost$$"})
    assert _route(node)[0].next_node == "cost$"


@pytest.mark.timeout(10)
def test_a_secret_read_by_a_param_is_collected() -> None:
    node = Node(id="n", control="NextNode", params={"next_node": "$env{target}"})
    decision, secrets = _route(node, env=EnvSource({"target": "done"}, use_os=False))
    assert decision.next_node == "done"
    assert secrets == {"target": "done"}


@pytest.mark.timeout(10)
def test_a_control_that_changes_its_params_leaves_the_node_as_it_was() -> None:
    def greedy(params: dict[str, Any], ctx: ControlContext) -> ControlDecision:
        target = str(params.pop("next_node"))
        params["seen"] = True
        return ControlDecision(target)

    catalog = Catalog([])
    catalog.controls["Greedy"] = ControlSpec(name="Greedy", fn=greedy, required=("next_node",))
    node = Node(id="n", control="Greedy", params={"next_node": "a"})
    assert _route(node, catalog)[0].next_node == "a"
    assert node.params == {"next_node": "a"}
