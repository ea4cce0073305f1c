"""The failure case of each browser action: a clear node error naming the node, never a hang."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import BrowserRunner, on_playground
from tests.conftest import node

pytestmark = pytest.mark.timeout(60)

MISSING = {"element": "#does-not-exist", "type": "css"}
FAST = {"timeout": 300}

CASES: dict[str, tuple[dict[str, Any], str]] = {
    "OpenBrowser": ({"browser_type": "firefox"}, "Weboter drives chromium"),
    "FillInput": ({"locator": MISSING, "text": "x", **FAST}, "no element matched"),
    "ExtractData": (
        {"locator": {"element": "#title", "type": "css"}, "data_source": "colour"},
        "data_source 'colour'",
    ),
    "GetElement": ({"locator": MISSING, **FAST}, "no element matched"),
    "NextElement": ({"element": {"$element": "e999"}}, "element e999 is gone"),
    "SelectOption": (
        {"locator": {"element": "#color", "type": "css"}, "label": "Purple", **FAST},
        "timed out",
    ),
    "PressKey": ({"locator": MISSING, "key": "Enter", **FAST}, "no element matched"),
    "Hover": ({"locator": MISSING, **FAST}, "no element matched"),
    "Check": ({"locator": {"element": "#title", "type": "css"}, **FAST}, "node 'act'"),
    "UploadFile": (
        {"locator": {"element": "#upload", "type": "css"}, "files": "/nonexistent/file.txt"},
        "node 'act'",
    ),
    "Download": ({"locator": {"element": "#title", "type": "css"}, "timeout": 800}, "timed out"),
    "Screenshot": ({"locator": MISSING, **FAST}, "no element matched"),
    "NewPage": ({"url": "http://127.0.0.1:9/", "timeout": 3000}, "node 'act'"),
    "ExtractList": ({"locator": {"element": "li", "type": "css"}, "fields": {}}, "needs `fields`"),
    "GoBack": ({"timeout": "soon"}, "timeout must be milliseconds"),
    "Scroll": ({"until_no_new": {"element": "x", "type": "nope"}}, "unknown locator type"),
}


@pytest.mark.parametrize("action", sorted(CASES))
def test_failure_is_a_clear_node_error(action: str, browser: BrowserRunner, pages_url: str) -> None:
    inputs, expected = CASES[action]
    outcome = browser.run(on_playground(pages_url, node("act", action, inputs=inputs)))
    assert outcome.ended.status == "FAILED", f"{action} did not fail"
    error = outcome.state.error
    assert error is not None
    assert error.node_id == "act"
    assert expected in error.message, error.message


def test_upload_of_a_missing_file_names_it(
    browser: BrowserRunner, pages_url: str, tmp_path: Path
) -> None:
    act = node(
        "act", "UploadFile", inputs={"locator": "#upload", "files": str(tmp_path / "nope.txt")}
    )
    outcome = browser.run(on_playground(pages_url, act))
    assert outcome.state.error is not None
    assert "nope.txt" in outcome.state.error.message


def test_a_post_condition_that_fails_stops_the_run_never_a_silent_pass(
    browser: BrowserRunner, pages_url: str
) -> None:
    """A node's `expect_url` (recorded by an agent session for each act that moved the page)
    holds, or the node fails there: a replay on a page that went elsewhere does not go on."""
    here = f"{pages_url}/playground.html"
    reload = node("act", "Reload", inputs={"expect_url": here})
    assert browser.run(on_playground(pages_url, reload)).ended.status == "COMPLETED"
    elsewhere = node(
        "act", "Reload", inputs={"expect_url": f"{pages_url}/other.html", "timeout": 2500}
    )
    outcome = browser.run(on_playground(pages_url, elsewhere))
    assert outcome.ended.status == "FAILED"
    error = outcome.state.error
    assert error is not None and error.kind == "PostConditionFailed" and error.node_id == "act"
    assert here in error.message and "other.html" in error.message
    # `expect_visible`: an element that must show after the act (what an agent's act brought up)
    heading = {"element": "heading", "type": "role", "ext": {"name": "Playground"}}
    shown = node("act", "Reload", inputs={"expect_visible": heading})
    assert browser.run(on_playground(pages_url, shown)).ended.status == "COMPLETED"
    gone = {"element": "Added to the cart", "type": "text"}
    missing = node("act", "Reload", inputs={"expect_visible": gone, "timeout": 2500})
    outcome = browser.run(on_playground(pages_url, missing))
    error = outcome.state.error
    assert error is not None and error.kind == "PostConditionFailed"
    assert "Added to the cart" in error.message and "expect_visible" in error.message


def test_an_extraction_whose_locator_finds_nothing_is_an_error_not_an_empty_list(
    browser: BrowserRunner, pages_url: str
) -> None:
    """`[]` only where the list may be empty: `allow_empty: true`, or a chain [list, items]
    whose list is on the page; a locator that finds nothing at all fails the node."""
    fields = {"text": {"locator": "."}}

    def extract(node_id: str, **inputs: Any) -> dict[str, Any]:
        out = [{"src": "items", "name": node_id, "pos": "global"}]
        return node(node_id, "ExtractList", inputs={"fields": fields, **inputs}, outputs=out)

    none = {"element": ".none", "type": "css"}
    empty = browser.run(
        on_playground(
            pages_url,
            extract("chained", locator=[{"element": "#list", "type": "css"}, none], timeout=300),
            extract("allowed", locator=none, allow_empty=True, timeout=300),
        )
    )
    assert empty.ended.status == "COMPLETED", empty.state.error
    assert empty.state.globals["chained"] == [] and empty.state.globals["allowed"] == []
    missing = browser.run(on_playground(pages_url, extract("lost", locator=none, timeout=300)))
    error = missing.state.error
    assert missing.ended.status == "FAILED" and error is not None
    assert error.kind == "ElementNotFound" and ".none" in error.message
