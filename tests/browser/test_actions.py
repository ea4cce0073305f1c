"""Every browser action against real pages in real Chromium, with its failure case."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import BrowserRunner, chain
from tests.conftest import flow, node
from weboter.runtime.store.artifacts import ArtifactStore
from weboter.schemas.events import NodeCompleted

pytestmark = pytest.mark.timeout(90)


def css(element: str, **extra: Any) -> dict[str, Any]:
    return {"element": element, "type": "css", **extra}


def out(src: str, name: str | None = None) -> list[dict[str, Any]]:
    return [{"src": src, "name": name or src, "pos": "global"}]


def test_login_fill_click_alternatives_extract_wait(browser: BrowserRunner, shop: Any) -> None:
    outcome = browser.run(
        chain(
            node("open", "OpenPage", inputs={"url": f"{shop.url}/login"}),
            node(
                "user",
                "FillInput",
                inputs={
                    "locator": {"element": "Username", "type": "label"},
                    "text": "$env{shop.user}",
                },
            ),
            node(
                "pass",
                "FillInput",
                inputs={"locator": css("#password"), "text": "$env{shop.password}"},
            ),
            node(
                "submit",
                "ClickItem",
                inputs={
                    "locators": [
                        css("#no-such-button"),
                        {"element": "button", "type": "role", "ext": {"name": "Log in"}},
                    ],
                    "timeout": 2000,
                },
            ),
            node(
                "page",
                "ExtractData",
                inputs={"locator": css("p.page")},
                outputs=out("data", "page"),
            ),
            node(
                "href",
                "ExtractData",
                inputs={"locator": css("a.product-link", pos="first"), "data_source": "attr:href"},
                outputs=out("data", "href"),
            ),
            node(
                "html",
                "ExtractData",
                inputs={"locator": css("li.product", pos=1), "data_source": "html"},
                outputs=out("data", "html"),
            ),
            node(
                "yes",
                "WaitElement",
                inputs={"locator": css("a.next")},
                outputs=out("element_found", "yes"),
            ),
            node(
                "no",
                "WaitElement",
                inputs={"locator": css(".nothing"), "timeout": 300},
                outputs=out("element_found", "no"),
            ),
        )
    )
    assert outcome.ended.status == "COMPLETED", outcome.state.error
    g = outcome.state.globals
    assert g["page"] == "Page 1 of 3"
    assert g["href"] == "/product/1"
    assert "Linen Tea Towel" in g["html"]
    assert (g["yes"], g["no"]) == (True, False)
    clicked = next(
        r.event
        for r in outcome.events
        if isinstance(r.event, NodeCompleted) and r.event.node_id == "submit"
    )
    assert clicked.elements[0]["tag"] == "button"  # the fingerprint of what was clicked
    assert clicked.elements[0]["name"] == "Log in"


def test_every_locator_type(browser: BrowserRunner, pages_url: str) -> None:
    kinds = {
        "role": {"element": "heading", "type": "role", "ext": {"name": "Playground"}},
        "label": {"element": "Email", "type": "label"},
        "placeholder": {"element": "you@example.com", "type": "placeholder"},
        "alt": {"element": "A pixel", "type": "alt"},
        "title": {"element": "The title", "type": "title"},
        "testid": {"element": "intro", "type": "testid"},
        "text": {"element": "Hello", "type": "text", "ext": {"exact": False}},
        "xpath": {"element": "//ul[@id='list']/li[2]", "type": "xpath"},
        "chain": [css("#list"), css("li", pos="last")],
    }
    nodes = [node("open", "OpenPage", inputs={"url": f"{pages_url}/playground.html"})]
    for kind, locator in kinds.items():
        nodes.append(
            node(kind, "GetElement", inputs={"locator": locator}, outputs=out("element", kind))
        )
    outcome = browser.run(chain(*nodes))
    assert outcome.ended.status == "COMPLETED", outcome.state.error
    g = outcome.state.globals
    assert g["role"]["tag"] == "h1"
    assert g["label"]["id"] == g["placeholder"]["id"] == "email"
    assert g["alt"]["tag"] == "img"
    assert g["testid"]["classes"] == ["intro"]
    assert g["xpath"]["text"] == "beta"
    assert g["chain"]["text"] == "gamma"


def test_no_match_fails_with_node_locator_url_and_saved_evidence(
    browser: BrowserRunner, pages_url: str
) -> None:
    outcome = browser.run(
        chain(
            node("open", "OpenPage", inputs={"url": f"{pages_url}/playground.html"}),
            node("click", "ClickItem", inputs={"locator": css("#missing"), "timeout": 500}),
        )
    )
    assert outcome.ended.status == "FAILED"
    error = outcome.state.error
    assert error is not None
    assert "node 'click'" in error.message
    assert 'css "#missing"' in error.message
    assert "playground.html" in error.message
    store = ArtifactStore.beside(browser.db_path)
    assert store.path(error.evidence["screenshot"]).read_bytes()[:4] == b"\x89PNG"
    assert b"Playground" in store.get(error.evidence["dom"])
    assert str(store.path(error.evidence["screenshot"])) in error.message


def test_several_matches_is_a_clear_error(browser: BrowserRunner, pages_url: str) -> None:
    outcome = browser.run(
        chain(
            node("open", "OpenPage", inputs={"url": f"{pages_url}/playground.html"}),
            node("click", "ClickItem", inputs={"locator": css("button.dup"), "timeout": 1000}),
        )
    )
    assert outcome.ended.status == "FAILED"
    assert outcome.state.error is not None
    assert "matched several elements" in outcome.state.error.message
    assert "pos" in outcome.state.error.hint


def test_select_check_hover_press_fill_upload(
    browser: BrowserRunner, pages_url: str, tmp_path: Path
) -> None:
    upload = browser.db_path.parent / "notes.txt"  # an upload comes from an allowed folder
    upload.write_text("hi")
    outcome = browser.run(
        chain(
            node("open", "OpenPage", inputs={"url": f"{pages_url}/playground.html"}),
            node(
                "select",
                "SelectOption",
                inputs={"locator": css("#color"), "label": "Green"},
                outputs=out("selected"),
            ),
            node("check", "Check", inputs={"locator": css("#agree")}),
            node(
                "checked",
                "EvaluateJS",
                inputs={"script": "document.getElementById('agree').checked"},
                outputs=out("result", "checked"),
            ),
            node("hover", "Hover", inputs={"locator": css("#menu")}),
            node(
                "hovered",
                "ExtractData",
                inputs={"locator": css("#hovered")},
                outputs=out("data", "hovered"),
            ),
            node("fill", "FillInput", inputs={"locator": css("#email"), "text": "a@b.c"}),
            node("press", "PressKey", inputs={"locator": css("#email"), "key": "Enter"}),
            node(
                "echo", "ExtractData", inputs={"locator": css("#echo")}, outputs=out("data", "echo")
            ),
            node("upload", "UploadFile", inputs={"locator": css("#upload"), "files": str(upload)}),
            node(
                "uploaded", "AssertText", inputs={"locator": css("#uploaded"), "text": "notes.txt"}
            ),
        )
    )
    assert outcome.ended.status == "COMPLETED", outcome.state.error
    g = outcome.state.globals
    assert g["selected"] == ["g"]
    assert g["checked"] is True
    assert g["hovered"] == "hovered"
    assert g["echo"] == "a@b.c [enter]"


def test_download_and_screenshot_are_artifacts(browser: BrowserRunner, pages_url: str) -> None:
    outcome = browser.run(
        chain(
            node("open", "OpenPage", inputs={"url": f"{pages_url}/playground.html"}),
            node(
                "download",
                "Download",
                inputs={"locator": css("#dl")},
                outputs=[
                    {"src": "path", "name": "file", "pos": "global"},
                    {"src": "filename", "pos": "global"},
                ],
            ),
            node("shot", "Screenshot", inputs={"full_page": True}, outputs=out("path", "shot")),
            node(
                "part", "Screenshot", inputs={"locator": css("#title")}, outputs=out("path", "part")
            ),
        )
    )
    assert outcome.ended.status == "COMPLETED", outcome.state.error
    g = outcome.state.globals
    assert Path(g["file"]).read_text() == "quarterly report\n"
    assert g["filename"] == "report.txt"
    assert Path(g["shot"]).read_bytes()[:4] == b"\x89PNG"
    assert Path(g["part"]).stat().st_size < Path(g["shot"]).stat().st_size


def test_scroll_until_no_new_items(browser: BrowserRunner, pages_url: str) -> None:
    outcome = browser.run(
        chain(
            node("open", "OpenPage", inputs={"url": f"{pages_url}/playground.html"}),
            node(
                "scroll",
                "Scroll",
                inputs={"until_no_new": css("#feed .item"), "pause": 0.3},
                outputs=out("count"),
            ),
            node("top", "Scroll", inputs={"to": "top"}, outputs=out("y")),
        )
    )
    assert outcome.ended.status == "COMPLETED", outcome.state.error
    assert outcome.state.globals["count"] == 23  # the feed stops growing at 23 items
    assert outcome.state.globals["y"] == 0


def test_tabs_new_switch_close_and_links_opening_tabs(
    browser: BrowserRunner, pages_url: str
) -> None:
    outcome = browser.run(
        chain(
            node("open", "OpenPage", inputs={"url": f"{pages_url}/playground.html"}),
            node("link", "ClickItem", inputs={"locator": css("#newtab")}),
            node("wait", "SleepFor", inputs={"duration": 0.5}),
            node(
                "switch", "SwitchPage", inputs={"url": "second.html"}, outputs=out("page", "second")
            ),
            node("h1", "ExtractData", inputs={"locator": css("h1")}, outputs=out("data", "h1")),
            node("close", "ClosePage", outputs=out("pages_left")),
            node("again", "SwitchPage", inputs={"index": 0}),
            node(
                "title",
                "ExtractData",
                inputs={"locator": css("#title")},
                outputs=out("data", "title"),
            ),
            node(
                "new",
                "NewPage",
                inputs={"url": f"{pages_url}/second.html"},
                outputs=out("page", "new"),
            ),
        )
    )
    assert outcome.ended.status == "COMPLETED", outcome.state.error
    g = outcome.state.globals
    assert g["h1"] == "Second page"
    assert g["pages_left"] == 1
    assert g["title"] == "Playground"
    assert g["new"]["index"] == 1


def test_switch_to_a_missing_tab_fails(browser: BrowserRunner, pages_url: str) -> None:
    outcome = browser.run(
        chain(
            node("open", "OpenPage", inputs={"url": f"{pages_url}/playground.html"}),
            node("switch", "SwitchPage", inputs={"index": 5}),
        )
    )
    assert outcome.ended.status == "FAILED"
    assert outcome.state.error is not None
    assert "there is no tab 5" in outcome.state.error.message


def test_frame_scoping(browser: BrowserRunner, pages_url: str) -> None:
    outcome = browser.run(
        chain(
            node("open", "OpenPage", inputs={"url": f"{pages_url}/playground.html"}),
            node("frame", "SwitchFrame", inputs={"locator": css("#frame")}),
            node("click", "ClickItem", inputs={"locator": css("#inner")}),
            node(
                "read",
                "ExtractData",
                inputs={"locator": css("#inner")},
                outputs=out("data", "inner"),
            ),
            node("back", "SwitchFrame"),
            node(
                "outside",
                "WaitElement",
                inputs={"locator": css("#inner"), "timeout": 300},
                outputs=out("element_found", "outside"),
            ),
        )
    )
    assert outcome.ended.status == "COMPLETED", outcome.state.error
    assert outcome.state.globals["inner"] == "clicked inside"
    assert outcome.state.globals["outside"] is False


def test_evaluate_js_and_assertions(browser: BrowserRunner, pages_url: str) -> None:
    ok = browser.run(
        chain(
            node("open", "OpenPage", inputs={"url": f"{pages_url}/playground.html"}),
            node(
                "js",
                "EvaluateJS",
                inputs={"script": "(n) => document.querySelectorAll('li').length * n", "arg": 10},
                outputs=out("result", "js"),
            ),
            node(
                "text",
                "AssertText",
                inputs={"locator": css(".intro"), "text": "Hello world", "exact": True},
            ),
            node("late", "AssertVisible", inputs={"locator": css(".late")}),
        )
    )
    assert ok.ended.status == "COMPLETED", ok.state.error
    assert ok.state.globals["js"] == 30
    bad_text = browser.run(
        chain(
            node("open", "OpenPage", inputs={"url": f"{pages_url}/playground.html"}),
            node("text", "AssertText", inputs={"locator": css(".intro"), "text": "Goodbye"}),
        )
    )
    assert bad_text.ended.status == "FAILED"
    assert bad_text.state.error is not None
    assert "expected text 'Goodbye', found 'Hello world'" in bad_text.state.error.message
    bad_visible = browser.run(
        chain(
            node("open", "OpenPage", inputs={"url": f"{pages_url}/playground.html"}),
            node("hidden", "AssertVisible", inputs={"locator": css("#menu .sub"), "timeout": 300}),
        )
    )
    assert bad_visible.ended.status == "FAILED"
    bad_js = browser.run(
        chain(
            node("open", "OpenPage", inputs={"url": f"{pages_url}/playground.html"}),
            node("js", "EvaluateJS", inputs={"script": "() => { throw new Error('boom') }"}),
        )
    )
    assert bad_js.state.error is not None
    assert "boom" in bad_js.state.error.message


def test_get_elements_for_each_next_element_scope(browser: BrowserRunner, pages_url: str) -> None:
    wf = flow(
        node(
            "open",
            "OpenPage",
            inputs={"url": f"{pages_url}/playground.html"},
            params={"next_node": "rows"},
        ),
        node(
            "rows",
            "GetElements",
            inputs={"locator": css("#list li")},
            outputs=[{"src": "elements", "name": "rows"}],
            params={"next_node": "each"},
        ),
        node(
            "each",
            control="ForEach",
            params={"items": "$flow{rows}", "item": "row", "body": "read", "done": "first"},
        ),
        node(
            "read",
            "ExtractData",
            inputs={"locator": {"element": ".", "type": "xpath"}, "scope": "$flow{row}"},
            params={"next_node": "collect"},
        ),
        node(
            "collect",
            "PyEvalAction",
            inputs={
                "expr": "(param1 or []) + [param2]",
                "param1": "$global{texts}",
                "param2": "$prev{data}",
            },
            outputs=[{"src": "result", "name": "texts", "pos": "global"}],
            params={"next_node": "each"},
        ),
        node(
            "first",
            "GetElement",
            inputs={"locator": css("#list li", pos="first")},
            outputs=[{"src": "element", "name": "first"}],
            params={"next_node": "next"},
        ),
        node(
            "next",
            "NextElement",
            "EndFlow",
            inputs={"element": "$flow{first}"},
            outputs=[{"src": "next_element", "name": "second", "pos": "global"}],
        ),
    )
    outcome = browser.run(wf, {"texts": []})
    assert outcome.ended.status == "COMPLETED", outcome.state.error
    assert outcome.state.globals["texts"] == ["alpha", "beta", "gamma"]
    assert outcome.state.globals["second"]["text"] == "beta"


def test_go_back_reload_and_extract_list(browser: BrowserRunner, shop: Any) -> None:
    outcome = browser.run(
        chain(
            node("open", "OpenPage", inputs={"url": f"{shop.url}/login"}),
            node("user", "FillInput", inputs={"locator": css("#username"), "text": "demo"}),
            node(
                "pass", "FillInput", inputs={"locator": css("#password"), "text": "demo-pass-123"}
            ),
            node("submit", "ClickItem", inputs={"locator": css("#submit")}),
            node("next", "ClickItem", inputs={"locator": css("a.next")}),
            node("back", "GoBack", outputs=out("url", "back")),
            node("reload", "Reload", outputs=out("url", "reloaded")),
            node(
                "list",
                "ExtractList",
                inputs={
                    "locator": css("li.product"),
                    "fields": {
                        "name": {"locator": css("a")},
                        "price": {"locator": css(".price")},
                        "missing": {"locator": css(".nope")},
                    },
                },
                outputs=out("items"),
            ),
        )
    )
    assert outcome.ended.status == "COMPLETED", outcome.state.error
    g = outcome.state.globals
    assert g["back"].endswith("/products?page=1")
    assert g["items"][0] == {"name": "Walnut Desk Lamp", "price": "49.90", "missing": None}
    assert len(g["items"]) == 4


def test_navigation_error_is_a_node_error_not_a_hang(browser: BrowserRunner) -> None:
    outcome = browser.run(
        chain(
            node("open", "OpenPage", inputs={"url": "http://127.0.0.1:9/nothing", "timeout": 5000})
        )
    )
    assert outcome.ended.status == "FAILED"
    assert outcome.state.error is not None
    assert "opening http://127.0.0.1:9/nothing failed" in outcome.state.error.message


def test_export_data_formats(browser: BrowserRunner) -> None:
    rows = [{"a": 1, "b": "x"}, {"a": 2, "c": [1, 2]}]
    out = browser.db_path.parent / "workspace" / "exports"  # relative paths: the workspace
    outcome = browser.run(
        chain(
            node(
                "csv",
                "ExportData",
                inputs={"data": "$global{rows}", "path": "exports/r.csv"},
            ),
            node(
                "json",
                "ExportData",
                inputs={"data": "$global{rows}", "path": "exports/r.json"},
            ),
            node(
                "jsonl",
                "ExportData",
                inputs={"data": "$global{rows}", "path": "exports/r.jsonl"},
            ),
        ),
        {"rows": rows},
    )
    assert outcome.ended.status == "COMPLETED", outcome.state.error
    assert (out / "r.csv").read_text().splitlines() == ["a,b,c", "1,x,", '2,,"[1, 2]"']
    assert (out / "r.jsonl").read_text().count("\n") == 2
    bad = browser.run(
        chain(node("x", "ExportData", inputs={"data": "not rows", "path": "exports/x.csv"}))
    )
    assert bad.ended.status == "FAILED"


def test_extract_list_fields_of_every_kind(browser: BrowserRunner, shop: Any) -> None:
    fields = {
        "self": {"locator": None, "data_source": "html"},
        "xpath": {"locator": {"element": "//a", "type": "xpath"}},  # inside each item
        "price": {"locator": css(".price")},
        "by_role": {"locator": {"element": "link", "type": "role"}},  # Playwright-only: slow path
    }
    outcome = browser.run(
        chain(
            node("open", "OpenPage", inputs={"url": f"{shop.url}/login"}),
            node("user", "FillInput", inputs={"locator": css("#username"), "text": "demo"}),
            node(
                "pass", "FillInput", inputs={"locator": css("#password"), "text": "demo-pass-123"}
            ),
            node("submit", "ClickItem", inputs={"locator": css("#submit")}),
            node(
                "fast",
                "ExtractList",
                inputs={
                    "locator": css("li.product"),
                    "fields": {k: v for k, v in fields.items() if k != "by_role"},
                },
                outputs=out("items", "fast"),
            ),
            node(
                "slow",
                "ExtractList",
                inputs={"locator": css("li.product"), "fields": fields},
                outputs=out("items", "slow"),
            ),
        )
    )
    assert outcome.ended.status == "COMPLETED", outcome.state.error
    fast, slow = outcome.state.globals["fast"], outcome.state.globals["slow"]
    assert [r["xpath"] for r in fast] == [r["by_role"] for r in slow]
    assert fast[1]["xpath"] == "Linen Tea Towel"
    assert fast[1]["price"] == slow[1]["price"] == "9.50"
    assert "product-link" in fast[0]["self"]
