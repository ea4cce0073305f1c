"""`merged`: what a patch writes into a node. Inputs and params merge (None removes a key); a
new action or control takes only the maps given; `ClickItem` and `builtin.ClickItem` are the
same action, so naming it either way is a merge, not a new action."""

from __future__ import annotations

import pytest

from weboter.runtime.core.flows import merged
from weboter.schemas.context import NodeModifications
from weboter.schemas.workflow import Node

pytestmark = pytest.mark.timeout(10)

CLICK = Node(
    id="buy",
    name="buy",
    action="ClickItem",
    inputs={"locator": "#buy", "timeout_ms": 500},
    control="NextNode",
    params={"next_node": "done"},
)


def test_inputs_merge_and_a_none_removes_a_key() -> None:
    changes = merged(CLICK, NodeModifications(inputs={"locator": "#pay", "timeout_ms": None}))
    assert changes.inputs == {"locator": "#pay"}
    assert changes.params is None  # not given: kept as it is


def test_the_same_action_under_its_package_name_is_a_merge() -> None:
    given = NodeModifications(action="builtin.ClickItem", inputs={"timeout_ms": 900})
    assert merged(CLICK, given).inputs == {"locator": "#buy", "timeout_ms": 900}
    control = NodeModifications(control="builtin.NextNode", params={"note": "x"})
    assert merged(CLICK, control).params == {"next_node": "done", "note": "x"}


def test_a_new_action_takes_only_the_inputs_given_and_none_without_them() -> None:
    given = NodeModifications(action="HoverItem", inputs={"locator": "#menu"})
    assert merged(CLICK, given).inputs == {"locator": "#menu"}
    assert merged(CLICK, NodeModifications(action="OpenPage")).inputs == {}
    assert merged(CLICK, NodeModifications(control="EndFlow")).params == {}
