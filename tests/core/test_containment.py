"""What a model may change alone (runtime/core/containment.py): a retry, or the failing node's
locators, waits and timeouts with plain values; everything else needs a person."""

from __future__ import annotations

from typing import Any

import pytest
from msgspec.structs import replace

from tests.conftest import flow, node
from weboter.runtime.core.containment import held_back, needs_approval
from weboter.runtime.core.fold import apply
from weboter.runtime.core.loader import to_workflow
from weboter.schemas.context import NodeModifications, RepairAction
from weboter.schemas.events import RunCreated
from weboter.schemas.state import RunState

pytestmark = pytest.mark.timeout(30)

LOCATOR = {"element": "#price", "type": "css"}


def failing_at_read() -> RunState:
    workflow = to_workflow(
        flow(
            node("open", "OpenPage", inputs={"url": "http://shop/"}, params={"next_node": "read"}),
            node(
                "read",
                "ExtractData",
                inputs={"locator": LOCATOR, "timeout": 2},
                params={"next_node": "__end__"},
            ),
        ),
        "t",
    )
    state = apply(None, RunCreated(run_id="r", workflow=workflow), seq=1, version=1, at=0.0)
    at_read = replace(state.frames[-1], cursor="read")  # where the run failed
    return replace(state, frames=[at_read])


def patch(node_id: str = "read", **changes: Any) -> RepairAction:
    return RepairAction(kind="patch", node_id=node_id, modifications=NodeModifications(**changes))


@pytest.mark.parametrize(
    "action",
    [
        RepairAction(kind="retry"),
        patch(inputs={"locator": {"element": "span.price", "type": "css"}, "timeout": 2}),
        patch(inputs={"locator": LOCATOR, "timeout": 10, "wait_until": "networkidle"}),
        patch(inputs={"locators": [LOCATOR, {"element": "Price", "type": "text"}], "timeout": 2}),
        patch(action="builtin.ExtractData", inputs={"locator": LOCATOR, "timeout": 5}),
    ],
)
def test_what_a_model_may_change_alone(action: RepairAction) -> None:
    assert needs_approval(failing_at_read(), action) == ""


@pytest.mark.parametrize(
    ("action", "why"),
    [
        (patch(action="OpenPage"), "it changes the action from ExtractData to OpenPage"),
        (patch(control="EndFlow"), "it changes the control from NextNode to EndFlow"),
        (patch(params={"next_node": "open"}), "it changes the control's params"),
        (patch("open", inputs={"url": "http://x/"}), "it changes node 'open', not the failing"),
        (patch(inputs={"locator": LOCATOR, "timeout": 2, "attribute": "href"}), "the input"),
        (patch(inputs={"locator": {"element": "$env{K}", "type": "css"}, "timeout": 2}), "ref"),
        (patch(inputs={"locator": {"element": "$global{x}"}, "timeout": 2}), "a reference"),
        (patch(inputs={"locator": {"element": "a[href='http://e/']"}, "timeout": 2}), "URL"),
        (patch(inputs={"locator": LOCATOR, "timeout": "file:/etc/passwd"}), "not a wait"),
        (patch(inputs={"locator": LOCATOR, "timeout": 10**12}), "not a wait of at most"),
        (
            patch(
                inputs={
                    "locator": {"element": "iframe >> internal:control=enter-frame >> #q"},
                    "timeout": 2,
                }
            ),
            "another frame",
        ),
        (RepairAction(kind="skip"), "it skips node 'read'"),
        (RepairAction(kind="jump", target_node="open"), "it moves the run to node 'open'"),
        (RepairAction(kind="set_variables", variables={"b": 1, "a": 2}), "variables (a, b)"),
        (RepairAction(kind="abort"), "it ends the run"),
        (RepairAction(kind="patch", node_id="read"), "it names no change"),
    ],
)
def test_what_needs_a_person(action: RepairAction, why: str) -> None:
    said = needs_approval(failing_at_read(), action)
    assert said.startswith("needs approval: ") and why in said


def acting(action: str, inputs: dict[str, Any]) -> RunState:
    """A run failed at `act`, a node that acts on the page."""
    workflow = to_workflow(
        flow(node("act", action, inputs=inputs, params={"next_node": "__end__"})), "t"
    )
    return apply(None, RunCreated(run_id="r", workflow=workflow), seq=1, version=1, at=0.0)


def test_a_node_that_acts_may_wait_longer_but_not_act_elsewhere() -> None:
    fill = {"locator": {"element": "#user", "type": "css"}, "text": "$env{PASS}", "timeout": 2}
    state = acting("FillInput", fill)
    elsewhere = {**fill, "locator": {"element": "#q", "type": "css"}}
    said = needs_approval(state, patch("act", inputs=elsewhere))
    assert said == (
        "needs approval: it points FillInput at another element ('locator'): an action "
        "somewhere else is a new action"
    )
    assert needs_approval(state, patch("act", inputs={**fill, "timeout": 20})) == ""
    click = {"locator": {"element": "#go", "type": "css"}}
    moved = {"locator": {"element": "text=Confirm transfer", "type": "css"}}
    assert "points ClickItem at another element" in needs_approval(
        acting("ClickItem", click), patch("act", inputs=moved)
    )


def test_too_little_confidence_is_held_whatever_the_change() -> None:
    said = held_back(failing_at_read(), RepairAction(kind="retry"), 0.3)
    assert said.startswith("confidence 0.30, below 0.5")
    assert held_back(failing_at_read(), RepairAction(kind="retry"), 0.5) == ""
    assert held_back(failing_at_read(), RepairAction(kind="abort"), 0.9) == (
        "needs approval: it ends the run"
    )
