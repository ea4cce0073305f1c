"""Weboter's side of bench/throughput.py: the scrape as N workflow files (one per run), and the
processes that run them — `weboter run --parallel N` (one engine, one Chromium, a context per
run), or `weboter serve --workers` with two `weboter worker`s and `weboter run --engine`.

Run i of N walks list pages i+1, i+1+N, i+1+2N, ... by URL until one is empty; on each, it
reads the product links, opens every product in its one tab (`OpenPage`: no new tab per
product), reads name/price/stock (`ExtractList`), adds the row to `$global{rows}` and, at the
end, exports its rows to `shardI.csv` in the workspace. Every node is committed to the log
before the next one starts (durability `sync`, the default); evidence is the default
(`on_error`) unless asked.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, TextIO

WEBOTER = [sys.executable, "-m", "weboter.runtime.cli.main"]


FIELDS = {
    "name": {"locator": {"element": "h1.name", "type": "css"}},
    "price": {"locator": {"element": "span.price", "type": "css"}},
    "stock": {"locator": {"element": "p.stock", "type": "css"}, "data_source": "attr:data-count"},
}
LINK = {"locator": {"element": "a.product-link", "type": "css"}, "data_source": "attr:href"}


def node(id_: str, action: str, inputs: dict[str, Any], then: str, **more: Any) -> dict[str, Any]:
    return {"id": id_, "action": action, "inputs": inputs, "params": {"next_node": then}, **more}


def to_global(name: str) -> list[dict[str, str]]:
    return [{"src": "result", "name": name, "pos": "global"}]


def shard(index: int, runs: int, tabs: bool = False) -> dict[str, Any]:
    """The workflow of run `index` (0-based) of `runs`; `tabs`: each product in a new tab,
    closed after (as the demo does, and as Crawlee does with a page per request)."""
    page_url = "$global{base_url}/products?page=$global{page}"
    detail = {"element": "article.product-detail", "type": "css"}
    rows = {"expr": "param1 + param2", "param1": "$global{rows}", "param2": "$prev{items}"}
    nodes = [
        node("first", "PyEvalAction", {"expr": str(index + 1)}, "list", outputs=to_global("page")),
        node("list", "OpenPage", {"url": page_url}, "links"),
        {
            "id": "links",
            "action": "ExtractList",
            "inputs": {
                "locator": {"element": "li.product", "type": "css"},
                "fields": {"href": LINK},
                "allow_empty": True,
            },
            "outputs": [{"src": "items", "name": "links"}],
            "control": "IfElse",
            "params": {"var": "$output{count}", "operator": "gt", "value": 0}
            | {"then_node": "each", "else_node": "export"},
        },
        {
            "id": "each",
            "action": "EmptyAction",
            "control": "ForEach",
            "params": {"items": "$flow{links}", "item": "link", "body": "product", "done": "turn"},
        },
        node(
            "product",
            "NewPage" if tabs else "OpenPage",
            {"url": "$global{base_url}$flow{link.href}"},
            "read",
        ),
        node("read", "ExtractList", {"locator": detail, "fields": FIELDS}, "collect"),
        node(
            "collect", "PyEvalAction", rows, "close" if tabs else "each", outputs=to_global("rows")
        ),
        node(
            "turn",
            "PyEvalAction",
            {"expr": f"param1 + {runs}", "param1": "$global{page}"},
            "list",
            outputs=to_global("page"),
        ),
        {
            "id": "export",
            "action": "ExportData",
            "inputs": {"data": "$global{rows}", "path": f"shard{index}.csv", "format": "csv"},
            "control": "EndFlow",
        },
    ]
    if tabs:
        nodes.append(node("close", "ClosePage", {}, "each"))
    name = f"bench shop, list pages {index + 1}, {index + 1 + runs}, ..."
    return {"id": f"shard{index}", "name": name, "start_node_id": "first", "nodes": nodes}


def write_shards(folder: Path, runs: int, tabs: bool = False) -> list[Path]:
    files = []
    for i in range(runs):
        files.append(folder / f"shard{i}.json")
        files[-1].write_text(json.dumps(shard(i, runs, tabs)))
    return files


def run_command(files: list[Path], base_url: str, parallel: int, evidence: str) -> list[str]:
    """`weboter run` of every shard, `parallel` at once, quiet (no progress stream)."""
    command = [*WEBOTER, "run", *map(str, files), "--parallel", str(parallel), "--quiet"]
    command += ["--var", f"base_url={base_url}", "--var", "rows=[]", "--json"]
    command += ["--durability", "sync", "--max-nodes", "100000"]
    # always given, so a round says which it measured (`weboter run`'s default is on_error,
    # `weboter ui`'s every_node)
    return [*command, "--evidence", evidence]


def free_port() -> int:
    """A loopback port with the three after it free too (serve binds four)."""
    for _ in range(50):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        try:
            for extra in (1, 2, 3):
                with socket.socket() as t:
                    t.bind(("127.0.0.1", port + extra))
            return port
        except OSError:
            continue
    raise RuntimeError("no free ports")


def spawn(command: list[str], home: Path, log: TextIO) -> Path:
    """Start a weboter process with `home` as its WEBOTER_HOME; its stdout goes to the file
    returned, its stderr to `log`."""
    env = {**os.environ, "WEBOTER_HOME": str(home), "WEBOTER_BROWSER": "/usr/bin/chromium"}
    out = home / f"{command[3]}-{time.monotonic_ns()}.out"
    with out.open("w") as stdout:
        subprocess.Popen(
            command, env=env, stdout=stdout, stderr=log, text=True, start_new_session=True
        )
    return out


def until_ready(out: Path, what: str, timeout: float = 120) -> dict[str, Any]:
    """The JSON document a `--json` serve/worker prints (to `out`) once it is up."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = out.read_text()
        if "\n}" in text:
            return dict(json.loads(text[: text.index("\n}") + 2]))
        time.sleep(0.1)
    raise RuntimeError(f"{what} did not start: {out.read_text()[-500:]}")


def cluster(home: Path, workers: int, capacity: int, evidence: str, log: TextIO) -> str:
    """`weboter serve --workers` and `workers` `weboter worker`s on `home`; the endpoint."""
    bind = f"tcp://127.0.0.1:{free_port()}"
    serve = spawn([*WEBOTER, "serve", "--bind", bind, "--workers", "--json"], home, log)
    until_ready(serve, "weboter serve")
    for i in range(workers):
        command = [*WEBOTER, "worker", "--connect", bind, "--name", f"w{i}", "--json"]
        command += ["--capacity", str(capacity), "--evidence", evidence]
        until_ready(spawn(command, home, log), f"weboter worker w{i}")
    return bind
