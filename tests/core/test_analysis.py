"""The pre-execution analysis (a LOADED run's AI trigger, without a model) and what the next
node will do at a pause: warnings about globals nobody writes, loops without a bound, brittle
locators; the next node's inputs resolved now, secrets left as references."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import flow, node
from weboter.runtime.actions import default_catalog
from weboter.runtime.core.analysis import analyse
from weboter.runtime.core.explain import next_step
from weboter.runtime.core.fold import apply
from weboter.runtime.core.loader import load_workflow, to_workflow
from weboter.schemas.events import RunCreated

COUNTER = Path(__file__).parents[2] / "examples" / "counter.json"


def said(findings: list) -> str:
    return "\n".join(str(f) for f in findings)


def test_a_global_read_but_never_written_nor_given() -> None:
    counter = load_workflow(COUNTER)
    found = analyse(counter)
    assert said(found).count("$global{target}") == 1 and "--var target=" in said(found)
    assert not analyse(counter, given={"target"})


def test_loops_without_a_bound_and_brittle_locators() -> None:
    workflow = to_workflow(
        flow(
            node("a", "EmptyAction", params={"next_node": "b"}),
            node("b", "EmptyAction", params={"next_node": "a"}),
            node("c", "ClickItem", inputs={"locator": {"element": "ul > li:nth-child(3)"}}),
            node(
                "d", "ClickItem", inputs={"locator": {"element": "/html/body/div", "type": "xpath"}}
            ),
            node("e", "EmptyAction", "LoopUntil", params={"loop_back": "a", "loop_out": "c"}),
            node("f", "ClickItem", inputs={"locator": {"element": "button", "type": "role"}}),
        ),
        "t",
    )
    text = said(analyse(workflow, given=set()))
    assert "a -> b -> a go round for ever" in text
    assert "nodes[2].inputs.locator" in text and "position" in text
    assert "nodes[3].inputs.locator" in text and "absolute" in text
    assert "LoopUntil without loop_tries" in text
    assert "nodes[5]" not in text  # a role is a steady locator


def test_the_next_node_with_its_inputs_resolved_now() -> None:
    workflow = to_workflow(
        flow(
            node(
                "login",
                "FillInput",
                inputs={
                    "locator": {"element": "#user"},
                    "text": "$env{shop.password}",
                    "note": "page $global{page} of $global{pages}",
                },
            )
        ),
        "t",
    )
    state = apply(
        None,
        RunCreated(run_id="r", workflow=workflow, variables={"page": 2}),
        seq=1,
        version=1,
        at=0.0,
    )
    step = next_step(state, default_catalog())
    assert step is not None and step["node_id"] == "login" and "Types" in step["does"]
    assert step["inputs"]["text"] == "$env{shop.password}"  # never a secret's value
    assert step["inputs"]["note"].startswith("(does not resolve yet")


def test_bare_strings_positions_and_generated_classes_are_brittle_too() -> None:
    workflow = to_workflow(
        flow(
            node("a", "ClickItem", inputs={"locator": "body > div > div > div > main > p"}),
            node("b", "ClickItem", inputs={"locator": {"element": "li", "pos": 4}}),
            node(
                "c", "ClickItem", inputs={"locator": {"element": "//div[3]/span", "type": "xpath"}}
            ),
            node("d", "ClickItem", inputs={"locators": [".sc-bdVaJa", "#buy"]}),
        ),
        "t",
    )
    text = said(analyse(workflow, given=set()))
    for where in ("nodes[0]", "nodes[1]", "nodes[2]", "nodes[3]"):
        assert f"{where}.inputs.locator" in text, where
