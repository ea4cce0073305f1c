"""What an agent session costs a model's context: Weboter's MCP server beside Playwright MCP
(`@playwright/mcp` from npm), on the same page of the demo shop, in the same run.

Weboter's server runs with `--profile agent` (the session tools only: what an agent that
knows Playwright MCP uses). Measured for each server, as JSON text (what a host puts into
the model's context): the answer to tools/list, and the answer to `browser_snapshot` on the
shop's first product page after signing in — Weboter's in its default form (no image),
Playwright MCP's as it comes.
Prints bytes and Weboter / Playwright MCP ratios (target: <= 1 for both).

    python bench/context_cost.py [--playwright-mcp PATH] [--json]

PATH: the `playwright-mcp` executable (default: `npx -y @playwright/mcp@0.0.83`); it is
started with `--headless --isolated --no-sandbox --executable-path` and the Chromium Weboter
uses (without a sandbox, as Weboter starts it where it runs as root).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from mcp import Client, StdioServerParameters

from weboter.runtime.browser.host import find_browser
from weboter.runtime.demo.shop import PASSWORD, USER, ShopServer

PEER = "@playwright/mcp@0.0.83"


def size(value: Any) -> int:
    return len(json.dumps(value, ensure_ascii=False).encode())


def answer_of(result: Any) -> Any:
    """What a host passes on of a tool's answer: its structured content, else its content."""
    if result.structured_content is not None:
        return result.structured_content
    return [c.model_dump(exclude_none=True) for c in result.content]


async def measure(params: StdioServerParameters, steps: Any) -> dict[str, int]:
    async with Client(params) as client:
        tools = (await client.list_tools()).tools
        listed = size([t.model_dump(exclude_none=True) for t in tools])
        snapshot = await steps(client)
        return {"tools_list_bytes": listed, "snapshot_bytes": size(answer_of(snapshot))}


async def weboter_steps(client: Client, url: str) -> Any:
    """Sign in through Weboter's session tools, then the snapshot measured."""
    await client.call_tool("browser_navigate", {"url": f"{url}/login"})
    page = (await client.call_tool("browser_snapshot", {})).structured_content or {}
    refs = _refs(str(page.get("snapshot", "")))
    user = {"element": "Username", "ref": refs["textbox Username"], "text": USER}
    await client.call_tool("browser_type", user)
    password = {
        "element": "Password",
        "ref": refs["textbox Password"],
        "text": "$env{shop.password}",
    }
    await client.call_tool("browser_type", password)
    await client.call_tool("browser_click", {"element": "Log in", "ref": refs["button Log in"]})
    return await client.call_tool("browser_snapshot", {})


async def peer_steps(client: Client, url: str) -> Any:
    """The same steps through Playwright MCP (0.0.83 names the element `target`)."""
    await client.call_tool("browser_navigate", {"url": f"{url}/login"})
    page = await client.call_tool("browser_snapshot", {})
    text = "\n".join(c.text for c in page.content if c.type == "text")  # type: ignore[union-attr]
    refs = _refs(text)
    await client.call_tool(
        "browser_type", {"element": "Username", "target": refs["textbox Username"], "text": USER}
    )
    await client.call_tool(
        "browser_type",
        {"element": "Password", "target": refs["textbox Password"], "text": PASSWORD},
    )
    await client.call_tool("browser_click", {"element": "Log in", "target": refs["button Log in"]})
    return await client.call_tool("browser_snapshot", {})


def _refs(snapshot: str) -> dict[str, str]:
    """ "role name" -> ref for the named elements of a snapshot (`- button "Log in" [ref=e9]`
    gives "button Log in")."""
    found = {}
    for line in snapshot.splitlines():
        if '"' in line and "[ref=" in line:
            role, name = line.strip().lstrip("- ").split(" ")[0], line.split('"')[1]
            found.setdefault(f"{role} {name}", line.split("[ref=")[1].split("]")[0])
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--playwright-mcp", default=None, help="the playwright-mcp executable")
    parser.add_argument("--json", action="store_true", help="one JSON document on stdout")
    args = parser.parse_args()
    chromium = find_browser(None).path
    peer = [args.playwright_mcp] if args.playwright_mcp else ["npx", "-y", PEER]
    if args.playwright_mcp is None and shutil.which("npx") is None:
        sys.exit("npx not found: install Node.js, or give --playwright-mcp PATH")
    peer += ["--headless", "--isolated", "--no-sandbox", "--executable-path", str(chromium)]
    with tempfile.TemporaryDirectory() as home, ShopServer() as shop:
        env_file = Path(home) / "env.json"
        env_file.write_text(json.dumps({"shop": {"user": USER, "password": PASSWORD}}))
        ours = StdioServerParameters(
            command=sys.executable,
            args=[
                *("-m", "weboter.runtime.cli.main", "mcp", "--profile", "agent"),
                *("--db", f"{home}/w.db", "--env-file", str(env_file)),
            ],
            env=dict(os.environ),
        )
        theirs = StdioServerParameters(  # it writes snapshot files where it starts: not here
            command=peer[0], args=peer[1:], env=dict(os.environ), cwd=home
        )
        weboter = asyncio.run(measure(ours, lambda c: weboter_steps(c, shop.url)))
        playwright = asyncio.run(measure(theirs, lambda c: peer_steps(c, shop.url)))
    result = {
        "weboter": weboter,
        "playwright_mcp": playwright,
        "tools_list_ratio": round(weboter["tools_list_bytes"] / playwright["tools_list_bytes"], 2),
        "snapshot_ratio": round(weboter["snapshot_bytes"] / playwright["snapshot_bytes"], 2),
    }
    if args.json:
        print(json.dumps(result))
        return
    print("context cost, bytes of JSON a host hands the model (demo shop, products page 1):")
    print(f"  {'':24}{'Weboter':>10}{'Playwright MCP':>16}{'ratio':>8}")
    for key, label in (("tools_list", "tools/list"), ("snapshot", "browser_snapshot")):
        ratio = result[f"{key}_ratio"]
        print(
            f"  {label:24}{weboter[key + '_bytes']:>10}{playwright[key + '_bytes']:>16}"
            f"{ratio:>8} (target <= 1)"
        )


if __name__ == "__main__":
    main()
