"""The throughput bench's scrape as ONE Weboter run that fans out (`FanOut`): the run walks
the list pages ("Next" until there is none), gathering product links, then reads every
product in an item run of its own, `at_once` at a time, in tabs of the run's one browser
context — Crawlee's shape (one context, a page per request, a queue), every step durable.

bench/throughput.py's `weboter-fanout` contender runs it; `python bench/throughput_fanout.py
--try N` runs it once against a local shop of N products and prints what it took.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from throughput_shop import BenchShop, check
from throughput_weboter import FIELDS, LINK, WEBOTER, node

BROWSER = "/usr/bin/chromium"


def fanout_workflow(at_once: int) -> dict[str, Any]:
    """List pages one after the other (links appended to $global{links}), then FanOut."""
    detail = {"element": "article.product-detail", "type": "css"}
    product = {
        "id": "product",
        "name": "read one product",
        "nodes": [
            node("open", "OpenPage", {"url": "$global{base_url}$flow{link.href}"}, "read"),
            {
                "id": "read",
                "action": "ExtractList",
                "inputs": {"locator": detail, "fields": FIELDS},
                "outputs": [{"src": "items", "name": "found"}],
                "control": "EndFlow",
            },
        ],
    }
    gather = {"expr": "param1 + param2", "param1": "$global{links}", "param2": "$prev{items}"}
    nodes = [
        node("list", "OpenPage", {"url": "$global{base_url}/products?page=1"}, "links"),
        node(
            "links",
            "ExtractList",
            {"locator": {"element": "li.product", "type": "css"}, "fields": {"href": LINK}},
            "gather",
        ),
        {
            "id": "gather",
            "action": "PyEvalAction",
            "inputs": gather,
            "outputs": [{"src": "result", "name": "links", "pos": "global"}],
            "control": "NextNode",
            "params": {"next_node": "more"},
        },
        {
            "id": "more",
            "action": "WaitElement",
            "inputs": {"locator": {"element": "a.next", "type": "css"}, "timeout": 100},
            "control": "IfElse",
            "params": {"var": "$output{element_found}", "value": True}
            | {"then_node": "next", "else_node": "done"},
        },
        # the last list page is not needed while the items run: its tab closed is a renderer
        # fewer (the items open their own tabs in the run's context, which stays)
        node("done", "ClosePage", {}, "each"),
        node("next", "ClickItem", {"locator": {"element": "a.next", "type": "css"}}, "links"),
        {
            "id": "each",
            "action": "FanOut",
            "inputs": {
                "flow_id": "product",
                "items": "$global{links}",
                "item": "link",
                "at_once": at_once,
                "data_in": [{"src": "$global{base_url}", "dst": "$global{base_url}"}],
                "data_out": [{"src": f"$flow{{found.0.{name}}}", "dst": name} for name in FIELDS],
            },
            "outputs": [{"src": "results", "name": "rows", "pos": "global"}],
            "control": "NextNode",
            "params": {"next_node": "export"},
        },
        {
            "id": "export",
            "action": "ExportData",
            "inputs": {"data": "$global{rows}", "path": "fanout.csv", "format": "csv"},
            "control": "EndFlow",
        },
    ]
    name = "bench shop, one run fanning out"
    return {"id": "fanout", "name": name, "nodes": nodes, "sub_flows": [product]}


def fanout_command(folder: Path, base_url: str, at_once: int, evidence: str) -> list[str]:
    """`weboter run` of the fan-out workflow (written into `folder`), durability sync."""
    path = folder / "fanout.json"
    path.write_text(json.dumps(fanout_workflow(at_once)))
    command = [*WEBOTER, "run", str(path), "--quiet", "--json", "--durability", "sync"]
    command += ["--var", f"base_url={base_url}", "--var", "links=[]", "--max-nodes", "100000"]
    return [*command, "--evidence", evidence]


def fanout_job(url: str, at_once: int, evidence: str = "on_error") -> Any:
    """bench/throughput.py's maker of the `weboter-fanout` contender."""

    def make(tmp: Path, log: Any) -> tuple[list[str], dict[str, str], Any]:
        home = tmp / "home"
        home.mkdir()
        env = {**os.environ, "WEBOTER_HOME": str(home), "WEBOTER_BROWSER": BROWSER}
        command = fanout_command(tmp, url, at_once, evidence)
        return command, env, lambda: sorted((home / "workspace").glob("fanout.csv"))

    return make


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--try", dest="count", type=int, default=40, help="products (smoke)")
    parser.add_argument("--at-once", type=int, default=8)
    args = parser.parse_args()
    with BenchShop(args.count) as shop, tempfile.TemporaryDirectory() as folder:
        home = Path(folder)
        env = {**os.environ, "WEBOTER_HOME": str(home), "WEBOTER_BROWSER": BROWSER}
        began = time.monotonic()
        done = subprocess.run(
            fanout_command(home, shop.url, args.at_once, "on_error"),
            env=env,
            capture_output=True,
            text=True,
            timeout=1800,
            check=False,
        )
        seconds = time.monotonic() - began
        if done.returncode:
            print(done.stdout[-2000:], done.stderr[-2000:], file=sys.stderr)
            return 1
        pages = len(shop.products) + shop.pages
        verdict = check(shop, sorted((home / "workspace").glob("fanout.csv")))
        print(f"{pages} pages in {seconds:.1f} s: {pages / seconds * 60:.1f} pages/min; {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
