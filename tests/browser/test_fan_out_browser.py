"""FanOut in a real Chromium: item runs open their tabs in the parent's browser context (the
parent's log-in holds for every item), each reads its product, the tabs close as items end."""

from __future__ import annotations

import pytest

from tests.browser.conftest import BrowserRunner
from tests.conftest import item_run
from weboter.runtime.demo.shop import PER_PAGE, PRODUCTS, ShopServer
from weboter.runtime.store.reading import Reader

pytestmark = pytest.mark.timeout(120)


def scrape_first_page() -> dict:
    """Log in, list page 1's product links, read each product in an item run, 3 at once."""
    product = {
        "id": "product",
        "name": "read one product",
        "nodes": [
            {
                "id": "open",
                "action": "OpenPage",
                "inputs": {"url": "$global{base_url}$flow{link.href}"},
                "control": "NextNode",
                "params": {"next_node": "name"},
            },
            {
                "id": "name",
                "action": "ExtractData",
                "inputs": {"locator": {"element": "h1.name", "type": "css"}, "timeout": 5000},
                "outputs": [{"src": "data", "name": "name"}],
                "control": "EndFlow",
            },
        ],
    }
    step = [
        ("open", "OpenPage", {"url": "$global{base_url}/login"}),
        (
            "user",
            "FillInput",
            {"locator": {"element": "#username", "type": "css"}, "text": "$env{shop.user}"},
        ),
        (
            "password",
            "FillInput",
            {"locator": {"element": "#password", "type": "css"}, "text": "$env{shop.password}"},
        ),
        ("submit", "ClickItem", {"locator": {"element": "#submit", "type": "css"}}),
    ]
    nodes = [
        {"id": i, "action": a, "inputs": inputs, "control": "NextNode", "params": {"next_node": n}}
        for (i, a, inputs), n in zip(step, [s[0] for s in step[1:]] + ["links"], strict=True)
    ]
    nodes += [
        {
            "id": "links",
            "action": "ExtractList",
            "inputs": {
                "locator": {"element": "li.product", "type": "css"},
                "fields": {
                    "href": {
                        "locator": {"element": "a.product-link", "type": "css"},
                        "data_source": "attr:href",
                    }
                },
            },
            "outputs": [{"src": "items", "name": "links"}],
            "control": "NextNode",
            "params": {"next_node": "each"},
        },
        {
            "id": "each",
            "action": "FanOut",
            "inputs": {
                "flow_id": "product",
                "items": "$flow{links}",
                "item": "link",
                "at_once": 3,
                "data_in": [{"src": "$global{base_url}", "dst": "$global{base_url}"}],
                "data_out": [{"src": "$flow{name}", "dst": "name"}],
            },
            "outputs": [{"src": "results", "name": "names", "pos": "global"}],
            "control": "EndFlow",
        },
    ]
    return {"id": "fan", "name": "fan out over products", "nodes": nodes, "sub_flows": [product]}


def test_items_share_the_parent_s_log_in_and_read_every_product(
    browser: BrowserRunner, shop: ShopServer
) -> None:
    shop.requests.clear()
    outcome = browser.run(scrape_first_page(), {"base_url": shop.url})
    assert outcome.ended.status == "COMPLETED", outcome.ended.error
    expected = [p.name for p in PRODUCTS[:PER_PAGE]]
    assert [r["name"] for r in outcome.state.globals["names"]] == expected
    # one log-in: the items' tabs were in the parent's context, with its session cookie
    assert shop.requests.count("POST /login") == 1
    assert "GET /login" not in shop.requests[2:]  # none was sent back to log in
    with Reader(browser.db_path) as reader:
        for index in range(PER_PAGE):
            made = item_run(browser.db_path, outcome.run_id, index)
            assert made is not None
            item = reader.state(made)
            assert item.status == "COMPLETED"
            assert item.item_of is not None and item.item_of.run == outcome.run_id
